//! JavaScript's view of parsed JSON values: truthiness, `String(v)`, and the
//! number rule of json-bigint (which the original parses responses with).

use serde_json::{Number, Value};

/// How a JSON number reaches JavaScript.
#[derive(Debug, Clone, PartialEq)]
pub enum JsNumber {
    /// Fits a double without losing an integer digit.
    Double(f64),
    /// An integer beyond 2^53: kept as its exact decimal digits.
    BigInteger(String),
}

/// json-bigint's rule: a safe integer or any literal with `.`/`e` becomes a
/// double; an integer literal beyond 2^53 keeps every digit.
pub fn classify_number(number: &Number) -> JsNumber {
    let text = number.to_string();
    let value: f64 = text.parse().unwrap_or(f64::NAN);
    let is_integer_literal = !text.contains(['.', 'e', 'E']);
    if is_integer_literal && !(value.fract() == 0.0 && value.abs() <= 9_007_199_254_740_991.0) {
        JsNumber::BigInteger(text)
    } else {
        JsNumber::Double(value)
    }
}

/// JavaScript truthiness of a parsed value.
pub fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => match classify_number(n) {
            JsNumber::Double(d) => d != 0.0 && !d.is_nan(),
            JsNumber::BigInteger(_) => true,
        },
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `String(v)` (and so `${v}`) of a parsed value; `None` stands for `undefined`.
pub fn js_string(value: Option<&Value>) -> String {
    match value {
        None => "undefined".into(),
        Some(Value::Null) => "null".into(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => match classify_number(n) {
            JsNumber::Double(d) => js_number_string(d),
            JsNumber::BigInteger(digits) => digits,
        },
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Null => String::new(),
                other => js_string(Some(other)),
            })
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::Object(_)) => "[object Object]".into(),
    }
}

/// `String(d)` for the doubles a response can hold.
pub fn js_number_string(d: f64) -> String {
    if d.is_nan() {
        "NaN".into()
    } else if d.is_infinite() {
        if d > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else if d == 0.0 {
        "0".into()
    } else if d.fract() == 0.0 && d.abs() < 1e21 {
        format!("{d:.0}")
    } else {
        let text = format!("{d}");
        if d.abs() >= 1e21 || (d.abs() < 1e-6) {
            // Rare in responses; JS would use exponent notation here.
            format!("{d:e}").replace('e', "e+").replace("e+-", "e-")
        } else {
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn num(text: &str) -> Number {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn numbers_follow_json_bigint() {
        assert_eq!(classify_number(&num("200")), JsNumber::Double(200.0));
        assert_eq!(
            classify_number(&num("9007199254740991")),
            JsNumber::Double(9007199254740991.0)
        );
        assert_eq!(
            classify_number(&num("9007199254740993")),
            JsNumber::BigInteger("9007199254740993".into())
        );
        assert_eq!(
            classify_number(&num("-123456789012345678901234567890")),
            JsNumber::BigInteger("-123456789012345678901234567890".into())
        );
        // A literal with a fraction or exponent is a double, as in json-bigint.
        assert_eq!(
            classify_number(&num("12345678901234567890.5")),
            JsNumber::Double(12345678901234567890.5)
        );
        assert_eq!(classify_number(&num("1.5")), JsNumber::Double(1.5));
    }

    #[test]
    fn string_of_values_is_javascripts() {
        assert_eq!(js_string(None), "undefined");
        assert_eq!(js_string(Some(&json!(null))), "null");
        assert_eq!(js_string(Some(&json!(true))), "true");
        assert_eq!(js_string(Some(&json!(400))), "400");
        assert_eq!(
            js_string(Some(&serde_json::from_str::<Value>("200.0").unwrap())),
            "200"
        );
        assert_eq!(js_string(Some(&json!(1.5))), "1.5");
        assert_eq!(js_string(Some(&json!({"a": 1}))), "[object Object]");
        assert_eq!(js_string(Some(&json!([1, null, "x"]))), "1,,x");
        assert_eq!(js_string(Some(&json!("isv.X"))), "isv.X");
    }

    #[test]
    fn truthiness() {
        for falsy in [json!(null), json!(false), json!(0), json!(""), json!(-0.0)] {
            assert!(!is_truthy(&falsy), "{falsy}");
        }
        for truthy in [json!("0"), json!(1), json!([]), json!({}), json!(true)] {
            assert!(is_truthy(&truthy), "{truthy}");
        }
    }

    proptest::proptest! {
        /// Integer literals: a double when |n| <= 2^53 - 1, otherwise every digit kept.
        #[test]
        fn integer_literals_keep_their_digits_beyond_the_safe_range(digits in "-?[1-9][0-9]{0,30}") {
            let number: serde_json::Number = serde_json::from_str(&digits).unwrap();
            let magnitude: f64 = digits.trim_start_matches('-').parse().unwrap();
            let expected = if magnitude <= 9_007_199_254_740_991.0 {
                JsNumber::Double(digits.parse().unwrap())
            } else {
                JsNumber::BigInteger(digits.clone())
            };
            proptest::prop_assert_eq!(classify_number(&number), expected);
        }

        /// A literal with a fraction or an exponent is always a double, as in JS.
        #[test]
        fn fractions_and_exponents_are_doubles(mantissa in "-?(0|[1-9][0-9]{0,19})", fraction in "[0-9]{1,10}", exponent in -300i32..300) {
            for text in [format!("{mantissa}.{fraction}"), format!("{mantissa}.{fraction}e{exponent}")] {
                let number: serde_json::Number = serde_json::from_str(&text).unwrap();
                proptest::prop_assert_eq!(classify_number(&number), JsNumber::Double(text.parse().unwrap()));
            }
        }
    }
}
