//! Time: the real clock (gateway and MNS date checks), the business clock
//! (expiration, token lifetime, call times) and the text formats both use.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// Beijing time is UTC+8 all year; the service's date strings are in it.
const BEIJING_OFFSET_SECS: i64 = 8 * 3600;

/// Milliseconds since the Unix epoch on the real clock.
pub fn real_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The business clock: real time shifted by an offset, so it runs forward
/// in real time from wherever a test or demo set it.
#[derive(Debug)]
pub struct BusinessClock {
    offset_ms: AtomicI64,
    /// Woken whenever the clock is set or advanced, so whatever waits for a
    /// business time (scheduled receipts, push retries) looks again at once.
    changed: Notify,
}

impl BusinessClock {
    /// A clock that starts at `start_ms` (epoch ms), or at real now.
    pub fn new(start_ms: Option<i64>) -> Self {
        let clock = BusinessClock {
            offset_ms: AtomicI64::new(0),
            changed: Notify::new(),
        };
        clock.set(start_ms);
        clock
    }

    /// Moves the clock so that it reads `start_ms` now (real now when None).
    pub fn set(&self, start_ms: Option<i64>) {
        let offset = start_ms.map(|s| s - real_now_ms()).unwrap_or(0);
        self.offset_ms.store(offset, Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    /// Moves the clock forward (or back, when negative).
    pub fn advance(&self, seconds: i64) {
        self.offset_ms
            .fetch_add(seconds.saturating_mul(1000), Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    /// Resolves at the next set or advance; create it before reading the
    /// clock, so a change in between is not missed.
    pub fn changed(&self) -> Notified<'_> {
        self.changed.notified()
    }

    /// How far business time is from real time, ms (what a saved state keeps).
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Puts business time `offset_ms` away from real time.
    pub fn set_offset_ms(&self, offset_ms: i64) {
        self.offset_ms.store(offset_ms, Ordering::Relaxed);
    }

    /// Business now, in epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        real_now_ms() + self.offset_ms.load(Ordering::Relaxed)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Reads fixed-width ASCII digits, None on anything else.
fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0')))
}

/// Parses `YYYY-MM-DD?HH:mm:ss` with the given separator at index 10;
/// returns seconds since the epoch as if the fields were UTC.
fn parse_fields(s: &str, sep: u8) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != sep
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (h, mi, se) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59
    {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

/// Parses the gateway Timestamp `YYYY-MM-DDTHH:mm:ssZ` (UTC) into epoch ms.
pub fn parse_utc_timestamp(s: &str) -> Option<i64> {
    let body = s.strip_suffix('Z')?;
    parse_fields(body, b'T').map(|secs| secs * 1000)
}

/// Parses a Beijing-time `YYYY-MM-DD HH:mm:ss` into epoch ms.
pub fn parse_beijing(s: &str) -> Option<i64> {
    parse_fields(s, b' ').map(|secs| (secs - BEIJING_OFFSET_SECS) * 1000)
}

fn format_fields(secs: i64, sep: char) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}{sep}{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Formats epoch ms as Beijing-time `YYYY-MM-DD HH:mm:ss`.
pub fn format_beijing(ms: i64) -> String {
    format_fields(ms.div_euclid(1000) + BEIJING_OFFSET_SECS, ' ')
}

/// Formats epoch ms as the gateway's UTC `YYYY-MM-DDTHH:mm:ssZ`.
pub fn format_utc_timestamp(ms: i64) -> String {
    let mut s = format_fields(ms.div_euclid(1000), 'T');
    s.push('Z');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_round_trip_and_offset() {
        let ms = parse_beijing("2018-08-01 08:00:00").unwrap();
        assert_eq!(format_utc_timestamp(ms), "2018-08-01T00:00:00Z");
        assert_eq!(format_beijing(ms), "2018-08-01 08:00:00");
        assert_eq!(
            format_beijing(parse_beijing("2024-02-29 23:59:59").unwrap()),
            "2024-02-29 23:59:59"
        );
    }

    #[test]
    fn rejects_malformed_dates() {
        for bad in [
            "2018-8-01 00:00:00",
            "2018-02-30 00:00:00",
            "2018-08-01T00:00:00",
            "2018-08-01 24:00:00",
            "x",
        ] {
            assert!(parse_beijing(bad).is_none(), "{bad}");
        }
        assert!(parse_utc_timestamp("2016-02-23T12:46:24").is_none());
        assert_eq!(
            parse_utc_timestamp("1970-01-02T00:00:00Z"),
            Some(86_400_000)
        );
    }

    #[test]
    fn business_clock_set_and_advance() {
        let start = parse_beijing("2018-08-01 00:00:00").unwrap();
        let clock = BusinessClock::new(Some(start));
        clock.advance(3600);
        let diff = clock.now_ms() - start;
        assert!((3_600_000..3_605_000).contains(&diff), "{diff}");
    }
}
