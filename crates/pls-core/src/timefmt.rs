//! The two time formats of the wire: the RPC `Timestamp` and MNS's RFC 1123 date.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch as `YYYY-MM-DDTHH:mm:ssZ` (UTC, no milliseconds).
pub fn rpc_timestamp(unix_seconds: i64) -> String {
    let (y, mo, d, h, mi, s) = civil_from_unix(unix_seconds);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Now, as an RPC `Timestamp`.
pub fn rpc_timestamp_now() -> String {
    rpc_timestamp(unix_now())
}

/// Whole seconds since the epoch (0 if the clock is before it).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Splits epoch seconds into a proleptic Gregorian UTC date and time
/// (Howard Hinnant's days-from-civil inverse).
fn civil_from_unix(unix_seconds: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rpc_timestamp(0), "1970-01-01T00:00:00Z");
        // Aliyun's published signature example.
        assert_eq!(rpc_timestamp(1_456_231_584), "2016-02-23T12:46:24Z");
        assert_eq!(rpc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rpc_timestamp(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
