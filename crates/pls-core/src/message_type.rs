//! The three queues of the product, as `receiveMsg` numbers them.

use crate::error::SdkError;

/// The three queues of the product, numbered as `receiveMsg`'s `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 0: call receipts.
    SecretReport,
    /// 1: recording-ready reports.
    SecretRecording,
    /// 2: intercepted SMS.
    SecretSmsIntercept,
}

impl MessageType {
    /// All three, in `type` order.
    pub const ALL: [MessageType; 3] = [
        MessageType::SecretReport,
        MessageType::SecretRecording,
        MessageType::SecretSmsIntercept,
    ];

    /// The type for `receiveMsg`'s number; anything but 0, 1, 2 is refused
    /// (the original would ask for a token of type `undefined`).
    pub fn from_number(number: u32) -> Result<Self, SdkError> {
        Self::ALL.get(number as usize).copied().ok_or_else(|| SdkError::InvalidArgument {
            message: format!(
                "message type must be 0 (SecretReport), 1 (SecretRecording) or 2 (SecretSmsIntercept), got {number}"
            ),
        })
    }

    /// The `MessageType` value dybaseapi knows it by.
    pub fn name(self) -> &'static str {
        match self {
            MessageType::SecretReport => "SecretReport",
            MessageType::SecretRecording => "SecretRecording",
            MessageType::SecretSmsIntercept => "SecretSmsIntercept",
        }
    }

    /// The position in [`MessageType::ALL`] (a slot index for per-type state).
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_types_are_0_1_2_and_nothing_else() {
        assert_eq!(MessageType::from_number(0).unwrap().name(), "SecretReport");
        assert_eq!(
            MessageType::from_number(1).unwrap().name(),
            "SecretRecording"
        );
        assert_eq!(
            MessageType::from_number(2).unwrap().name(),
            "SecretSmsIntercept"
        );
        let err = MessageType::from_number(3).unwrap_err();
        assert_eq!(err.code(), "SDK.InvalidArgument");
        assert!(err.to_string().contains("got 3"), "{err}");
    }
}
