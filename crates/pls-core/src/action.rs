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

/// The nine dyplsapi methods of `@alicloud/pls-sdk`, in the original's order of checks.
pub const ACTIONS: &[Action] = &[
    Action {
        method: "bindAxb",
        name: "BindAxb",
        required: &["PhoneNoA", "PhoneNoB", "Expiration"],
    },
    Action {
        method: "bindAxn",
        name: "BindAxn",
        required: &["PhoneNoA", "Expiration"],
    },
    Action {
        method: "bindAxnExtension",
        name: "BindAxnExtension",
        required: &["PhoneNoA", "Expiration"],
    },
    Action {
        method: "buySecretNo",
        name: "BuySecretNo",
        required: &["PoolKey", "SpecId", "City"],
    },
    Action {
        method: "releaseSecretNo",
        name: "ReleaseSecretNo",
        required: &["PoolKey", "SecretNo"],
    },
    Action {
        method: "queryRecordFileDownloadUrl",
        name: "QueryRecordFileDownloadUrl",
        required: &["CallId"],
    },
    Action {
        method: "querySubscriptionDetail",
        name: "QuerySubscriptionDetail",
        required: &["SubsId", "PhoneNoX"],
    },
    Action {
        method: "unbindSubscription",
        name: "UnbindSubscription",
        required: &["SubsId", "SecretNo"],
    },
    Action {
        method: "updateSubscription",
        name: "UpdateSubscription",
        required: &["SubsId", "PhoneNoX", "OperateType"],
    },
];

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
}
