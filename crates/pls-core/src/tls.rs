//! What HTTPS trusts: the same roots a Node.js process trusts, whatever the
//! machine has installed.
//!
//! Node verifies servers against its own bundled Mozilla roots, so it works in
//! containers that ship no CA store at all. We trust, in one store:
//! - Mozilla's roots, compiled in (the `webpki-roots` crate), so a client
//!   always builds;
//! - the system store where there is one (`SSL_CERT_FILE` / `SSL_CERT_DIR`
//!   are honoured), so a CA an administrator installed works;
//! - the PEM file named by `NODE_EXTRA_CA_CERTS`, as Node does (a corporate
//!   TLS proxy);
//! - the client's `ca` option (PEM text).

use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, RootCertStore};

use crate::error::SdkError;

/// The roots every client trusts, read once per process (the system store
/// costs a few milliseconds to parse).
fn default_roots() -> &'static Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut store = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        // A missing or unreadable system store is normal in slim images: the
        // bundled roots stand in for it, as they do for Node.
        let system = rustls_native_certs::load_native_certs();
        store.add_parsable_certificates(system.certs);
        if let Some(path) = std::env::var_os("NODE_EXTRA_CA_CERTS").filter(|p| !p.is_empty()) {
            // Node warns and carries on when this file cannot be read; so do we
            // (silently: a library should not write to stderr on its own).
            if let Ok(pem) = std::fs::read(&path) {
                store.add_parsable_certificates(
                    CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok),
                );
            }
        }
        Arc::new(store)
    })
}

/// The rustls configuration for a client that also trusts `extra_ca`, each a
/// PEM text holding one or more certificates. A `ca` text with no certificate
/// in it is refused: it is surely a mistake (a path, or a key).
pub fn client_config(extra_ca: &[String]) -> Result<rustls::ClientConfig, SdkError> {
    let roots = if extra_ca.is_empty() {
        Arc::clone(default_roots())
    } else {
        let mut store = RootCertStore::clone(default_roots());
        for (index, pem) in extra_ca.iter().enumerate() {
            let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| bad_ca(index, &err.to_string()))?;
            if certs.is_empty() {
                return Err(bad_ca(
                    index,
                    "no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
                ));
            }
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(bad_ca(index, "its certificates cannot be parsed"));
            }
        }
        Arc::new(store)
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| SdkError::InvalidArgument {
            message: format!("cannot configure TLS: {err}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

fn bad_ca(index: usize, why: &str) -> SdkError {
    SdkError::InvalidArgument {
        message: format!("option \"ca\" (entry {index}) is not a PEM certificate: {why}"),
    }
}

/// Why a TLS handshake failed, in words a person can act on, when `err` (or
/// anything in its chain of causes) is a TLS error.
pub fn failure_reason(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(tls) = as_rustls_error(e) {
            return Some(describe(tls));
        }
        current = e.source();
    }
    None
}

/// tokio-rustls reports a handshake failure as an `io::Error` wrapping the
/// `rustls::Error`, which the connector wraps in another `io::Error`; and
/// `io::Error::source()` skips what it wraps, so unwrap by hand.
fn as_rustls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = err.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let mut io = err.downcast_ref::<std::io::Error>()?;
    loop {
        let inner = io.get_ref()?;
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        io = inner.downcast_ref::<std::io::Error>()?;
    }
}

fn describe(err: &rustls::Error) -> String {
    let rustls::Error::InvalidCertificate(cert) = err else {
        return format!("TLS handshake failed: {err}");
    };
    match cert {
        CertificateError::UnknownIssuer => {
            "the server's certificate is signed by an unknown issuer \
             (trust its CA with the \"ca\" option or NODE_EXTRA_CA_CERTS)"
                .into()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "the server's certificate has expired".into()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet".into()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "the server's certificate is not valid for this host name".into()
        }
        CertificateError::Revoked => "the server's certificate has been revoked".into(),
        other => format!("the server's certificate was refused: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_config_builds_without_any_system_store() {
        // The bundled roots alone are enough for a client to exist.
        assert!(!default_roots().is_empty());
        assert!(client_config(&[]).is_ok());
    }

    #[test]
    fn a_ca_option_without_a_certificate_is_refused_with_its_name() {
        let err = client_config(&["/etc/ssl/my-ca.pem".into()]).unwrap_err();
        assert_eq!(err.code(), "SDK.InvalidArgument");
        assert!(err.to_string().contains("\"ca\" (entry 0)"), "{err}");
    }

    #[test]
    fn handshake_failures_are_found_through_an_io_error() {
        // As the connector reports it: an io::Error in an io::Error.
        let io = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        ));
        let reason = failure_reason(&io).unwrap();
        assert!(reason.contains("unknown issuer"), "{reason}");
        let expired = rustls::Error::InvalidCertificate(CertificateError::Expired);
        assert!(failure_reason(&expired).unwrap().contains("expired"));
        assert!(failure_reason(&std::io::Error::other("refused")).is_none());
    }
}
