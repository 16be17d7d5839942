//! The shared credentials file, `~/.alibabacloud/credentials` (or
//! `ALIBABA_CLOUD_CREDENTIALS_FILE`), an INI file whose profile
//! `ALIBABA_CLOUD_PROFILE` (default `default`) has a `type` of
//! `access_key`, `ecs_ram_role` or `ram_role_arn`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::config::Credentials;
use crate::credentials::ecs_metadata::EcsMetadata;
use crate::credentials::sts::{default_session_name, sts_endpoint, AssumeRole};
use crate::credentials::{
    failed, get_built, BoxFuture, Environment, ProvideCredentials, Refreshing,
};
use crate::error::SdkError;

/// One INI section's keys and the line each key was on.
pub type Section = HashMap<String, (String, usize)>;

/// Parses INI text: `[section]` headers, `key = value` lines, `;` and `#`
/// comments. An error names the file and line, never the line's text (it
/// may hold a secret).
pub fn parse(text: &str, path: &Path) -> Result<HashMap<String, Section>, SdkError> {
    let mut sections: HashMap<String, Section> = HashMap::new();
    let mut current: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        let bad = |what: &str| {
            failed(format!(
                "credentials file {} line {line_no}: {what}",
                path.display()
            ))
        };
        if let Some(header) = line.strip_prefix('[') {
            let name = header
                .strip_suffix(']')
                .ok_or_else(|| bad("a section header must end with ']'"))?
                .trim();
            if name.is_empty() {
                return Err(bad("a section header needs a name"));
            }
            sections.entry(name.to_owned()).or_default();
            current = Some(name.to_owned());
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| bad("expected 'key = value'"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(bad("a key is missing before '='"));
        }
        let section = current
            .as_ref()
            .ok_or_else(|| bad("a key appears before any [section]"))?;
        let value = unquote(value.trim());
        sections
            .entry(section.clone())
            .or_default()
            .insert(key.to_owned(), (value.to_owned(), line_no));
    }
    Ok(sections)
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

/// The file source: read on first use, then the profile's provider serves.
pub struct IniFile {
    path: PathBuf,
    profile: String,
    env: Environment,
    inner: OnceCell<Arc<dyn ProvideCredentials>>,
}

impl std::fmt::Debug for IniFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IniFile")
            .field("path", &self.path)
            .field("profile", &self.profile)
            .finish()
    }
}

impl IniFile {
    /// The file and profile this environment names, or why there is none.
    pub fn from_environment(env: &Environment) -> Result<IniFile, String> {
        let path = match env.var("ALIBABA_CLOUD_CREDENTIALS_FILE") {
            Some(path) => PathBuf::from(path),
            None => env
                .home
                .as_ref()
                .map(|home| home.join(".alibabacloud").join("credentials"))
                .ok_or_else(|| "no home folder to look in (HOME is not set)".to_owned())?,
        };
        let profile = env
            .var("ALIBABA_CLOUD_PROFILE")
            .unwrap_or("default")
            .to_owned();
        Ok(IniFile {
            path,
            profile,
            env: env.clone(),
            inner: OnceCell::new(),
        })
    }

    /// The file this source reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn build(&self) -> Result<Arc<dyn ProvideCredentials>, SdkError> {
        let text = crate::credentials::read_file(&self.path, "credentials file")?;
        let sections = parse(&text, &self.path)?;
        let where_ = format!(
            "credentials file {} profile [{}]",
            self.path.display(),
            self.profile
        );
        let section = sections
            .get(&self.profile)
            .ok_or_else(|| failed(format!("{where_}: no such profile")))?;
        let get = |key: &str| {
            section
                .get(key)
                .map(|(v, _)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let need = |key: &str| -> Result<String, SdkError> {
            get(key)
                .map(str::to_owned)
                .ok_or_else(|| failed(format!("{where_}: {key} is missing")))
        };
        let static_key = || -> Result<Credentials, SdkError> {
            Ok(Credentials {
                access_key_id: need("access_key_id")?,
                access_key_secret: need("access_key_secret")?,
                security_token: None,
            })
        };
        match get("type") {
            Some("access_key") => Ok(Arc::new(crate::credentials::chain::Fixed::new(
                static_key()?
            ))),
            Some("ecs_ram_role") => Ok(Arc::new(Refreshing::new(EcsMetadata::from_environment(
                &self.env,
                get("role_name"),
            )))),
            Some("ram_role_arn") => Ok(Arc::new(Refreshing::new(AssumeRole {
                endpoint: sts_endpoint(&self.env, None, false),
                base: static_key()?,
                role_arn: need("role_arn")?,
                session_name: get("role_session_name")
                    .map(str::to_owned)
                    .unwrap_or_else(default_session_name),
                duration_seconds: 3600,
                policy: get("policy").map(str::to_owned),
                external_id: None,
            }))),
            Some(_) => {
                let line = section.get("type").map(|(_, line)| *line).unwrap_or(0);
                Err(failed(format!(
                    "credentials file {} line {line}: type must be access_key, ecs_ram_role or ram_role_arn",
                    self.path.display()
                )))
            }
            None => Err(failed(format!("{where_}: type is missing"))),
        }
    }
}

impl ProvideCredentials for IniFile {
    fn current(&self) -> Option<Arc<Credentials>> {
        self.inner.get()?.current()
    }

    fn get(&self) -> BoxFuture<'_, Result<Arc<Credentials>, SdkError>> {
        get_built(&self.inner, || self.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_comments_and_quotes() {
        let text = "; comment\n[default]\ntype = access_key\naccess_key_id = \"id\"\n# more\n\n[other]\nk=v\n";
        let sections = parse(text, Path::new("f")).unwrap();
        assert_eq!(sections["default"]["access_key_id"], ("id".to_owned(), 4));
        assert_eq!(sections["other"]["k"].0, "v");
    }

    #[test]
    fn a_malformed_line_names_file_and_line_but_not_its_text() {
        for (text, line, what) in [
            (
                "[default]\naccess_key_secret TOPSECRET\n",
                2,
                "expected 'key = value'",
            ),
            ("[default\n", 1, "must end with ']'"),
            ("k = TOPSECRET\n", 1, "before any [section]"),
        ] {
            let err = parse(text, Path::new("/tmp/creds")).unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains(&format!("/tmp/creds line {line}")) && message.contains(what),
                "{message}"
            );
            assert!(!message.contains("TOPSECRET"), "{message}");
            assert_eq!(err.code(), "SDK.CredentialsFailed");
        }
    }

    fn file_with(text: &str, profile: Option<&str>) -> (IniFile, PathBuf) {
        let dir = std::env::temp_dir().join(format!("pls-core-ini-{}", crate::rpc::make_nonce()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credentials");
        std::fs::write(&path, text).unwrap();
        let mut vars = HashMap::from([(
            "ALIBABA_CLOUD_CREDENTIALS_FILE".to_owned(),
            path.display().to_string(),
        )]);
        if let Some(profile) = profile {
            vars.insert("ALIBABA_CLOUD_PROFILE".into(), profile.into());
        }
        (
            IniFile::from_environment(&Environment::from_vars(vars)).unwrap(),
            dir,
        )
    }

    #[tokio::test]
    async fn the_named_profile_gives_its_key() {
        let text = "[default]\ntype = access_key\naccess_key_id = a\naccess_key_secret = b\n[work]\ntype = access_key\naccess_key_id = w\naccess_key_secret = x\n";
        let (default, dir) = file_with(text, None);
        assert_eq!(default.get().await.unwrap().access_key_id, "a");
        assert_eq!(default.current().unwrap().access_key_id, "a");
        let (work, dir2) = file_with(text, Some("work"));
        assert_eq!(work.get().await.unwrap().access_key_id, "w");
        for d in [dir, dir2] {
            std::fs::remove_dir_all(d).unwrap();
        }
    }

    #[tokio::test]
    async fn an_unknown_type_names_its_line() {
        let (source, dir) = file_with("[default]\n\ntype = magic\n", None);
        let err = source.get().await.unwrap_err().to_string();
        assert!(
            err.contains("line 3") && err.contains("type must be"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
