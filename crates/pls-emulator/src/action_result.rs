//! What an action returns: the fields it adds to a success body, or a
//! business error (HTTP 200 with an `isv.`/`isp.` Code). Shared by the
//! gateway that writes the body and the models that run the actions.

use serde_json::{Map, Value};

/// A business error: HTTP 200 with an `isv.`/`isp.` code in the body.
#[derive(Debug, Clone, PartialEq)]
pub struct BizError {
    /// The body's Code, e.g. `isv.BIND_CONFLICT`.
    pub code: &'static str,
    /// The body's Message.
    pub message: String,
}

/// A business error with its Code and Message.
pub fn biz(code: &'static str, message: impl Into<String>) -> BizError {
    BizError {
        code,
        message: message.into(),
    }
}

/// The fields an action adds to `RequestId`/`Code`/`Message`, or its error.
pub type ActionResult = Result<Map<String, Value>, BizError>;
