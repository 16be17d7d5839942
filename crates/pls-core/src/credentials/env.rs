//! The first source of the chain: `ALIBABA_CLOUD_ACCESS_KEY_ID`,
//! `ALIBABA_CLOUD_ACCESS_KEY_SECRET` and, for STS keys,
//! `ALIBABA_CLOUD_SECURITY_TOKEN`.

use crate::config::Credentials;
use crate::credentials::Environment;

/// The key in the environment, or why there is none (a reason for the
/// chain's error; never a value).
pub fn from_environment(env: &Environment) -> Result<Credentials, String> {
    let Some(access_key_id) = env.var("ALIBABA_CLOUD_ACCESS_KEY_ID") else {
        return Err("ALIBABA_CLOUD_ACCESS_KEY_ID is not set".into());
    };
    let Some(access_key_secret) = env.var("ALIBABA_CLOUD_ACCESS_KEY_SECRET") else {
        return Err(
            "ALIBABA_CLOUD_ACCESS_KEY_ID is set but ALIBABA_CLOUD_ACCESS_KEY_SECRET is not".into(),
        );
    };
    Ok(Credentials {
        access_key_id: access_key_id.to_owned(),
        access_key_secret: access_key_secret.to_owned(),
        security_token: env.var("ALIBABA_CLOUD_SECURITY_TOKEN").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_three_variables() {
        let creds = from_environment(&Environment::from_pairs(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "id"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret"),
            ("ALIBABA_CLOUD_SECURITY_TOKEN", "token"),
        ]))
        .unwrap();
        assert_eq!(
            (
                creds.access_key_id.as_str(),
                creds.security_token.as_deref()
            ),
            ("id", Some("token"))
        );
    }

    #[test]
    fn says_which_variable_is_missing() {
        assert_eq!(
            from_environment(&Environment::from_pairs(&[])).unwrap_err(),
            "ALIBABA_CLOUD_ACCESS_KEY_ID is not set"
        );
        let half = from_environment(&Environment::from_pairs(&[(
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "id",
        )]))
        .unwrap_err();
        assert!(
            half.contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET is not"),
            "{half}"
        );
    }
}
