//! The product's receipt types, each with its own MNS queue: the original's
//! three, numbered as `receiveMsg` numbers them, and the others by name.

use crate::error::SdkError;

/// A receipt type (MessageType) of the product, whose MNS queue is
/// `Alicom-Queue-<account>-<MessageType>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 0: the call record once a call ended.
    SecretReport,
    /// 1: a call's recording is ready.
    SecretRecording,
    /// 2: an SMS through X.
    SecretSmsIntercept,
    /// A call started (reaches X).
    SecretStartReport,
    /// The callee's phone rings (some carriers only).
    SecretRingReport,
    /// The callee answered (some carriers only).
    SecretPickUpReport,
    /// The speech-to-text of a recorded call.
    SecretAsrReport,
    /// A number's state changed to or from abnormal (MNS only).
    SecretExceptionPhoneReport,
    /// Logistics details of the e-commerce product.
    SmartLogisticsReport,
    /// A number was added to or removed from a pool.
    NumberManagementReport,
}

impl MessageType {
    /// Every type: the original's three first, in `type` order.
    pub const ALL: [MessageType; 10] = [
        MessageType::SecretReport,
        MessageType::SecretRecording,
        MessageType::SecretSmsIntercept,
        MessageType::SecretStartReport,
        MessageType::SecretRingReport,
        MessageType::SecretPickUpReport,
        MessageType::SecretAsrReport,
        MessageType::SecretExceptionPhoneReport,
        MessageType::SmartLogisticsReport,
        MessageType::NumberManagementReport,
    ];

    /// How many types the original numbers (0, 1 and 2).
    const NUMBERED: u32 = 3;

    /// The type for `receiveMsg`'s number; anything but 0, 1, 2 is refused
    /// (the original would ask for a token of type `undefined`).
    pub fn from_number(number: u32) -> Result<Self, SdkError> {
        if number < Self::NUMBERED {
            return Ok(Self::ALL[number as usize]);
        }
        Err(SdkError::InvalidArgument {
            message: format!(
                "message type must be 0 (SecretReport), 1 (SecretRecording), 2 (SecretSmsIntercept) or a receipt type name, got {number}"
            ),
        })
    }

    /// The type of a MessageType name, exactly as the service spells it.
    pub fn from_name(name: &str) -> Result<Self, SdkError> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| SdkError::InvalidArgument {
                message: format!(
                    "message type must be 0, 1, 2 or one of {}, got {name:?}",
                    Self::ALL.map(Self::name).join(", ")
                ),
            })
    }

    /// The `MessageType` value dybaseapi knows it by.
    pub fn name(self) -> &'static str {
        match self {
            MessageType::SecretReport => "SecretReport",
            MessageType::SecretRecording => "SecretRecording",
            MessageType::SecretSmsIntercept => "SecretSmsIntercept",
            MessageType::SecretStartReport => "SecretStartReport",
            MessageType::SecretRingReport => "SecretRingReport",
            MessageType::SecretPickUpReport => "SecretPickUpReport",
            MessageType::SecretAsrReport => "SecretAsrReport",
            MessageType::SecretExceptionPhoneReport => "SecretExceptionPhoneReport",
            MessageType::SmartLogisticsReport => "SmartLogisticsReport",
            MessageType::NumberManagementReport => "NumberManagementReport",
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
    fn numbers_are_0_1_2_and_nothing_else() {
        assert_eq!(MessageType::from_number(0).unwrap().name(), "SecretReport");
        assert_eq!(
            MessageType::from_number(1).unwrap().name(),
            "SecretRecording"
        );
        assert_eq!(
            MessageType::from_number(2).unwrap().name(),
            "SecretSmsIntercept"
        );
        for number in [3, 9, u32::MAX] {
            let err = MessageType::from_number(number).unwrap_err();
            assert_eq!(err.code(), "SDK.InvalidArgument");
            assert!(err.to_string().contains(&format!("got {number}")), "{err}");
        }
    }

    #[test]
    fn every_type_by_its_name_and_in_its_slot() {
        for (slot, kind) in MessageType::ALL.iter().enumerate() {
            assert_eq!(MessageType::from_name(kind.name()).unwrap(), *kind);
            assert_eq!(kind.index(), slot);
        }
        for bad in ["secretreport", "SecretReport ", "", "SmsReport", "0"] {
            let err = MessageType::from_name(bad).unwrap_err();
            assert_eq!(err.code(), "SDK.InvalidArgument");
            assert!(err.to_string().contains("NumberManagementReport"), "{err}");
        }
    }
}
