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
/// Milliseconds since the epoch of `YYYY-MM-DDTHH:mm:ssZ` (optionally with
/// `.mmm` before the `Z`): the `Expiration` of STS and metadata replies.
pub fn parse_utc_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let millis = match b.len() {
        20 => 0,
        24 if b[19] == b'.' => digits(20..23)?,
        _ => return None,
    };
    if b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[b.len() - 1] != b'Z'
    {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(
        (days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second) * 1000
            + millis,
    )
}

/// Milliseconds since the epoch, now.
pub fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of `civil_from_unix`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

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

    #[test]
    fn parses_what_it_formats_and_refuses_the_rest() {
        for seconds in [0, 951_782_400, 1_456_231_584, 4_102_444_799] {
            assert_eq!(parse_utc_ms(&rpc_timestamp(seconds)), Some(seconds * 1000));
        }
        assert_eq!(
            parse_utc_ms("2016-02-23T12:46:24.117Z"),
            Some(1_456_231_584_117)
        );
        for bad in [
            "",
            "2016-02-23 12:46:24Z",
            "2016-13-23T12:46:24Z",
            "2016-02-23T12:46:24",
            "２016-02-23T12:46:24Z",
        ] {
            assert_eq!(parse_utc_ms(bad), None, "{bad}");
        }
    }
}
