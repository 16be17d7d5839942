//! The OIDC role source (RRSA on ACK): `ALIBABA_CLOUD_ROLE_ARN`,
//! `ALIBABA_CLOUD_OIDC_PROVIDER_ARN` and `ALIBABA_CLOUD_OIDC_TOKEN_FILE`,
//! optionally `ALIBABA_CLOUD_ROLE_SESSION_NAME` and `ALIBABA_CLOUD_STS_REGION`.

use std::path::PathBuf;

use crate::credentials::sts::{default_session_name, sts_endpoint, AssumeRoleWithOidc};
use crate::credentials::Environment;

/// The request this environment describes, or which variable is missing.
pub fn from_environment(env: &Environment) -> Result<AssumeRoleWithOidc, String> {
    let need = |name: &str| {
        env.var(name)
            .map(str::to_owned)
            .ok_or_else(|| format!("{name} is not set"))
    };
    let role_arn = need("ALIBABA_CLOUD_ROLE_ARN")?;
    let provider_arn = need("ALIBABA_CLOUD_OIDC_PROVIDER_ARN")?;
    let token_file = PathBuf::from(need("ALIBABA_CLOUD_OIDC_TOKEN_FILE")?);
    Ok(AssumeRoleWithOidc {
        endpoint: sts_endpoint(env, None, false),
        role_arn,
        provider_arn,
        token_file,
        session_name: env
            .var("ALIBABA_CLOUD_ROLE_SESSION_NAME")
            .map(str::to_owned)
            .unwrap_or_else(default_session_name),
        duration_seconds: 3600,
        policy: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn needs_all_three_variables_and_names_the_first_missing() {
        let mut vars = HashMap::from([(
            "ALIBABA_CLOUD_ROLE_ARN".to_owned(),
            "acs:ram::1:role/r".to_owned(),
        )]);
        let err = from_environment(&Environment::from_vars(vars.clone())).unwrap_err();
        assert_eq!(err, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN is not set");
        vars.insert(
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN".into(),
            "acs:ram::1:oidc-provider/p".into(),
        );
        vars.insert(
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE".into(),
            "/var/run/token".into(),
        );
        vars.insert("ALIBABA_CLOUD_STS_REGION".into(), "cn-shanghai".into());
        let call = from_environment(&Environment::from_vars(vars)).unwrap();
        assert_eq!(call.endpoint, "https://sts.cn-shanghai.aliyuncs.com");
        assert!(call.session_name.starts_with("pls-core-"));
    }
}
