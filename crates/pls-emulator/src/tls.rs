//! HTTPS for the emulator: either a certificate and key the caller gives,
//! or a throwaway CA and a leaf for the loopback names made at start. The
//! CA's key lives only in this process's memory, so trusting the CA (with a
//! client's `ca` option or `NODE_EXTRA_CA_CERTS`) trusts nothing once the
//! emulator has stopped; its name constraints also keep it to the names the
//! emulator serves. rustls runs on ring, the provider pls-core uses.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use tokio_rustls::TlsAcceptor;

use crate::EmulatorError;

/// How long a client gets to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `tls` option: `true` for a certificate made at start, or the PEM
/// texts of a certificate chain and its private key.
#[derive(Debug, Clone)]
pub enum TlsOption {
    /// `true`: HTTPS with a throwaway CA; `false`: plain HTTP.
    Generate(bool),
    /// The caller's own certificate (chain, leaf first) and key, PEM.
    Files {
        /// PEM text of the certificate chain.
        cert: String,
        /// PEM text of the private key (PKCS#8, PKCS#1 or SEC1).
        key: String,
    },
}

impl<'de> Deserialize<'de> for TlsOption {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Files {
            cert: String,
            key: String,
        }
        use serde::de::Error;
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Bool(on) => Ok(TlsOption::Generate(on)),
            value @ serde_json::Value::Object(_) => Files::deserialize(value)
                .map(|f| TlsOption::Files {
                    cert: f.cert,
                    key: f.key,
                })
                .map_err(|e| D::Error::custom(format!("tls: {e}"))),
            _ => Err(D::Error::custom(
                "tls must be true, false or { cert, key } (PEM texts)",
            )),
        }
    }
}

impl TlsOption {
    /// Whether HTTPS is asked for at all.
    pub fn enabled(&self) -> bool {
        !matches!(self, TlsOption::Generate(false))
    }
}

/// What `serve` needs, and the CA a client must trust (None for the
/// caller's own certificate).
pub struct TlsSetup {
    pub acceptor: TlsAcceptor,
    pub ca_pem: Option<String>,
}

fn config_error(message: impl Into<String>) -> EmulatorError {
    EmulatorError::Config(message.into())
}

/// The acceptor for `option`; `host` is the listen address, whose name or
/// IP joins the generated certificate when it is not a wildcard.
pub fn setup(option: &TlsOption, host: &str) -> Result<TlsSetup, EmulatorError> {
    let (chain, key, ca_pem) = match option {
        TlsOption::Generate(_) => {
            let made = generate(host)?;
            (made.chain, made.key, Some(made.ca_pem))
        }
        TlsOption::Files { cert, key } => {
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| config_error(format!("tls.cert is not PEM certificates: {e}")))?;
            if chain.is_empty() {
                return Err(config_error("tls.cert holds no PEM certificate"));
            }
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
                .map_err(|e| config_error(format!("tls.key is not a PEM private key: {e}")))?;
            (chain, key, None)
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(format!("TLS setup failed: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            config_error(format!(
                "tls.cert and tls.key do not make a usable pair: {e}"
            ))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsSetup {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        ca_pem,
    })
}

/// A generated chain: the leaf, its key, and the CA that signed it.
struct Generated {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    ca_pem: String,
}

/// The names the leaf is for: the loopback names, plus the listen host
/// when it names one machine.
fn server_names(host: &str) -> Vec<String> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let wildcard = match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_unspecified(),
        Err(_) => host.is_empty(),
    };
    if !wildcard && !names.iter().any(|n| n.eq_ignore_ascii_case(host)) {
        names.push(host.to_string());
    }
    names
}

/// Keeps the CA to the leaf's names, so it can vouch for nothing else.
fn constraints(names: &[String]) -> NameConstraints {
    let permitted_subtrees = names
        .iter()
        .map(|name| match name.parse::<IpAddr>() {
            Ok(ip) if ip.is_loopback() && ip.is_ipv4() => {
                GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(ip, 8))
            }
            Ok(ip) => GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                ip,
                if ip.is_ipv4() { 32 } else { 128 },
            )),
            Err(_) => GeneralSubtree::DnsName(name.clone()),
        })
        .collect();
    NameConstraints {
        permitted_subtrees,
        excluded_subtrees: Vec::new(),
    }
}

fn generate(host: &str) -> Result<Generated, EmulatorError> {
    let failed = |e: rcgen::Error| config_error(format!("could not make a TLS certificate: {e}"));
    let now = time::OffsetDateTime::now_utc();
    // A day back tolerates a client whose clock is a little behind.
    let not_before = now - time::Duration::days(1);
    let not_after = now + time::Duration::days(365);
    let names = server_names(host);

    let ca_key = KeyPair::generate().map_err(failed)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "pls-emulator throwaway CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.name_constraints = Some(constraints(&names));
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(failed)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().map_err(failed)?;
    let mut leaf_params = CertificateParams::new(names).map_err(failed)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "pls-emulator");
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    leaf_params.not_before = not_before;
    leaf_params.not_after = not_after;
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).map_err(failed)?;

    let key = PrivateKeyDer::try_from(leaf_key.serialize_der())
        .map_err(|e| config_error(format!("could not encode the TLS key: {e}")))?;
    Ok(Generated {
        chain: vec![leaf.der().clone()],
        key,
        ca_pem: ca_cert.pem(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cover_loopback_and_a_specific_host() {
        assert_eq!(server_names("127.0.0.1"), ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(server_names("0.0.0.0").len(), 3, "a wildcard adds nothing");
        assert_eq!(server_names("[::]").len(), 3);
        assert_eq!(server_names("10.1.2.3").last().unwrap(), "10.1.2.3");
        assert_eq!(server_names("devbox").last().unwrap(), "devbox");
    }

    #[test]
    fn generated_and_given_certificates_make_acceptors() {
        let made = setup(&TlsOption::Generate(true), "127.0.0.1").unwrap();
        let ca = made.ca_pem.unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");

        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let given = TlsOption::Files {
            cert: cert.pem(),
            key: key.serialize_pem(),
        };
        assert!(setup(&given, "127.0.0.1").unwrap().ca_pem.is_none());
    }

    #[test]
    fn the_option_reads_booleans_and_pairs_and_says_what_is_wrong() {
        assert!(matches!(
            serde_json::from_str::<TlsOption>("true").unwrap(),
            TlsOption::Generate(true)
        ));
        let err = serde_json::from_str::<TlsOption>(r#"{"cert":"x"}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("missing field `key`"), "{err}");
        let err = serde_json::from_str::<TlsOption>("1")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("tls must be"), "{err}");
    }

    #[test]
    fn bad_pem_is_a_config_error() {
        let bad = TlsOption::Files {
            cert: "not a certificate".into(),
            key: "not a key".into(),
        };
        let err = setup(&bad, "127.0.0.1").err().unwrap().to_string();
        assert!(err.contains("tls.cert"), "{err}");
    }
}
