//! dybaseapi: QueryTokenForMnsQueue hands out temporary MNS credentials
//! that grant one queue for 30 minutes of the business clock.

use std::collections::HashMap;

use serde_json::{json, Map};

use crate::action_result::{ActionResult, BizError};
use crate::clock::format_beijing;
use crate::params::Params;
use crate::queue_names::{queue_name, MESSAGE_TYPES};
use crate::App;

const TOKEN_LIFETIME_MS: i64 = 30 * 60 * 1000;

/// Temporary credentials, valid for MNS only.
#[derive(Debug, Clone)]
pub struct TempCredential {
    pub secret: String,
    pub security_token: String,
    pub expire_ms: i64,
    pub queue: String,
}

/// Issued temporary credentials by AccessKeyId.
#[derive(Debug, Default)]
pub struct TokenStore {
    by_key: HashMap<String, TempCredential>,
}

impl TokenStore {
    /// The credential of a temporary AccessKeyId.
    pub fn get(&self, access_key_id: &str) -> Option<&TempCredential> {
        self.by_key.get(access_key_id)
    }

    fn insert(&mut self, key: String, credential: TempCredential, now_ms: i64) {
        // Long-expired tokens can never be used again; dropping them keeps a
        // long-running emulator's memory flat.
        self.by_key
            .retain(|_, c| c.expire_ms > now_ms - TOKEN_LIFETIME_MS);
        self.by_key.insert(key, credential);
    }

    /// Forgets every token (control reset).
    pub fn clear(&mut self) {
        self.by_key.clear();
    }
}

/// QueryTokenForMnsQueue: a fresh key, secret and token for the queue of
/// MessageType.
pub fn query_token(app: &App, params: &Params) -> ActionResult {
    let message_type = params.get("MessageType").unwrap_or("");
    if !MESSAGE_TYPES.contains(&message_type) {
        return Err(BizError {
            code: "isv.INVALID_PARAMETERS",
            message: format!("参数非法: MessageType {message_type}"),
        });
    }
    let now = app.clock.now_ms();
    let expire_ms = now + TOKEN_LIFETIME_MS;
    let access_key_id = format!("STS.{}", app.ids.alnum(21));
    let credential = TempCredential {
        secret: app.ids.alnum(30),
        security_token: format!("CAIS{}", app.ids.alnum(120)),
        expire_ms,
        queue: queue_name(&app.account, message_type),
    };
    let dto = json!({
        "AccessKeyId": access_key_id,
        "AccessKeySecret": credential.secret,
        "SecurityToken": credential.security_token,
        "CreateTime": format_beijing(now),
        "ExpireTime": format_beijing(expire_ms),
    });
    match app.tokens.lock() {
        Ok(mut tokens) => tokens.insert(access_key_id, credential, now),
        Err(_) => {
            return Err(BizError {
                code: "isp.SYSTEM_ERROR",
                message: "系统错误".into(),
            })
        }
    }
    let mut fields = Map::new();
    fields.insert("MessageTokenDTO".into(), dto);
    Ok(fields)
}
