//! The account's queues: one per message type, named as the service names
//! them. The token service grants them and the MNS emulator serves them.

/// The message types and the queue each one's token grants.
pub const MESSAGE_TYPES: [&str; 3] = ["SecretReport", "SecretRecording", "SecretSmsIntercept"];

/// The name of the queue for a message type on an account.
pub fn queue_name(account: &str, message_type: &str) -> String {
    format!("Alicom-Queue-{account}-{message_type}")
}
