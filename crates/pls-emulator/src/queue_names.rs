//! The account's receipt types and their queues: one queue per type, named
//! as the service names them. The token service grants them, the MNS
//! emulator serves them, and the push settings name the same types.

/// Every receipt type (MessageType) the product has, each with its queue.
pub const MESSAGE_TYPES: [&str; 10] = [
    "SecretReport",
    "SecretRecording",
    "SecretSmsIntercept",
    "SecretStartReport",
    "SecretRingReport",
    "SecretPickUpReport",
    "SecretAsrReport",
    "SecretExceptionPhoneReport",
    "SmartLogisticsReport",
    "NumberManagementReport",
];

/// The types the service can push over HTTP: all but
/// SecretExceptionPhoneReport, which it delivers through MNS only.
pub fn pushable(message_type: &str) -> bool {
    message_type != "SecretExceptionPhoneReport" && MESSAGE_TYPES.contains(&message_type)
}

/// The name of the queue for a message type on an account.
pub fn queue_name(account: &str, message_type: &str) -> String {
    format!("Alicom-Queue-{account}-{message_type}")
}
