//! The one keyed hash both signatures are made of.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// base64(HMAC-SHA1(key, data)), as RPC and MNS signatures are written.
pub fn hmac_sha1_base64(key: &[u8], data: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha1>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(data);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_2202_test_case_2() {
        // HMAC-SHA1("Jefe", "what do ya want for nothing?") = effcdf6ae5eb2fa2d27416d5f184df9c259a7c79
        assert_eq!(
            hmac_sha1_base64(b"Jefe", b"what do ya want for nothing?"),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
    }
}
