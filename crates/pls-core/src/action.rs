//! The action table: each SDK method, its RPC action, its required params.

/// One method of the original SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    /// The JS method name, e.g. `bindAxb`.
    pub method: &'static str,
    /// The RPC action, e.g. `BindAxb`.
    pub name: &'static str,
    /// Keys that must be present (and not undefined/null), checked in this order.
    pub required: &'static [&'static str],
}

/// Every dyplsapi action: the original's nine with their checks, and the rest
/// of the API description with the params it marks as required.
pub use crate::actions_generated::ACTIONS;

/// The dybaseapi action that hands out temporary MNS credentials.
pub const QUERY_TOKEN_FOR_MNS_QUEUE: Action = Action {
    method: "queryTokenForMnsQueue",
    name: "QueryTokenForMnsQueue",
    required: &["MessageType"],
};

/// The API version every dyplsapi and dybaseapi call is made with.
pub const API_VERSION: &str = "2017-05-25";

/// Looks up a method by its JS name.
pub fn by_method(method: &str) -> Option<&'static Action> {
    ACTIONS.iter().find(|action| action.method == method)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_are_the_action_names_lower_camel() {
        for action in ACTIONS {
            let mut lowered = action.name.to_string();
            lowered[..1].make_ascii_lowercase();
            assert_eq!(lowered, action.method);
        }
        assert_eq!(
            by_method("bindAxb").map(|a| a.required),
            Some(&["PhoneNoA", "PhoneNoB", "Expiration"][..])
        );
        assert!(by_method("receiveMsg").is_none());
    }

    #[test]
    fn the_original_nine_keep_their_checks() {
        let expected: [(&str, &[&str]); 9] = [
            ("bindAxb", &["PhoneNoA", "PhoneNoB", "Expiration"]),
            ("bindAxn", &["PhoneNoA", "Expiration"]),
            ("bindAxnExtension", &["PhoneNoA", "Expiration"]),
            ("buySecretNo", &["PoolKey", "SpecId", "City"]),
            ("releaseSecretNo", &["PoolKey", "SecretNo"]),
            ("queryRecordFileDownloadUrl", &["CallId"]),
            ("querySubscriptionDetail", &["SubsId", "PhoneNoX"]),
            ("unbindSubscription", &["SubsId", "SecretNo"]),
            ("updateSubscription", &["SubsId", "PhoneNoX", "OperateType"]),
        ];
        for (method, required) in expected {
            assert_eq!(
                by_method(method).map(|a| a.required),
                Some(required),
                "{method}"
            );
        }
    }

    #[test]
    fn the_whole_api_is_in_the_table() {
        assert_eq!(ACTIONS.len(), 60);
        assert_eq!(
            by_method("bindAXBCall").map(|a| (a.name, a.required)),
            Some((
                "BindAXBCall",
                &["AuthId", "CustomerPoolKey", "Expiration", "ReqId", "TelA"][..]
            ))
        );
        assert_eq!(
            by_method("bindAxg").map(|a| a.required),
            Some(&["Expiration", "GroupId", "PhoneNoA"][..])
        );
        let mut names: Vec<&str> = ACTIONS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ACTIONS.len(), "each action once");
    }
}
