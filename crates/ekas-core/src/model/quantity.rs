//! Kubernetes resource quantities, parsed exactly.
//!
//! A quantity is kept as an exact rational (`mantissa * 10^exp10 * 1024^exp1024`) until it is
//! converted to the integer unit a resource is counted in, so `0.1` CPU is exactly 100m and
//! `1.5Gi` is exactly 1610612736 bytes. Conversions round up, as the scheduler does.

use std::fmt;

/// Largest mantissa (digits before and after the point) we accept; keeps the arithmetic in i128.
const MAX_DIGITS: usize = 30;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error(
        "{0:?} is not a Kubernetes quantity (expected a number with an optional suffix, e.g. 500m, 2, 1.5Gi, 1e3)"
    )]
    Malformed(String),
    #[error("{0:?} is too large")]
    TooLarge(String),
    #[error("{0:?} is negative")]
    Negative(String),
}

/// An exactly parsed quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    mantissa: i128,
    /// Power of ten applied to the mantissa (fraction digits make it negative).
    exp10: i32,
    /// Power of 1024 from a binary suffix (Ki = 1 … Ei = 6).
    exp1024: u32,
}

impl Quantity {
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        let malformed = || QuantityError::Malformed(text.to_string());
        let s = text.trim();
        let (negative, s) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        // Split the number from its suffix.
        let number_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (number, suffix) = s.split_at(number_end);
        let (int_part, frac_part) = match number.split_once('.') {
            Some((i, f)) => (i, f),
            None => (number, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() || frac_part.contains('.') {
            return Err(malformed());
        }
        if int_part.len() + frac_part.len() > MAX_DIGITS {
            return Err(QuantityError::TooLarge(text.to_string()));
        }
        let mut mantissa: i128 = 0;
        for c in int_part.bytes().chain(frac_part.bytes()) {
            mantissa = mantissa * 10 + i128::from(c - b'0');
        }
        let mut exp10 = -(frac_part.len() as i32);
        let mut exp1024 = 0;
        match suffix {
            "" => {}
            "n" => exp10 -= 9,
            "u" => exp10 -= 6,
            "m" => exp10 -= 3,
            "k" => exp10 += 3,
            "M" => exp10 += 6,
            "G" => exp10 += 9,
            "T" => exp10 += 12,
            "P" => exp10 += 15,
            "E" => exp10 += 18,
            "Ki" => exp1024 = 1,
            "Mi" => exp1024 = 2,
            "Gi" => exp1024 = 3,
            "Ti" => exp1024 = 4,
            "Pi" => exp1024 = 5,
            "Ei" => exp1024 = 6,
            _ => {
                // Decimal exponent: e3, E-2, e+6.
                let rest = suffix
                    .strip_prefix('e')
                    .or_else(|| suffix.strip_prefix('E'))
                    .ok_or_else(malformed)?;
                let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(malformed());
                }
                let exp: i32 = rest
                    .parse()
                    .map_err(|_| QuantityError::TooLarge(text.to_string()))?;
                if exp.abs() > 40 {
                    return Err(QuantityError::TooLarge(text.to_string()));
                }
                exp10 += exp;
            }
        }
        if negative && mantissa != 0 {
            return Err(QuantityError::Negative(text.to_string()));
        }
        Ok(Quantity {
            mantissa,
            exp10,
            exp1024,
        })
    }

    /// The quantity times `scale`, rounded up to an integer; `None` when it does not fit an i64.
    fn scaled_ceil(&self, scale: i128) -> Option<i64> {
        let mut num = self.mantissa.checked_mul(scale)?;
        for _ in 0..self.exp1024 {
            num = num.checked_mul(1024)?;
        }
        let mut den: i128 = 1;
        if self.exp10 >= 0 {
            num = num.checked_mul(10i128.checked_pow(self.exp10 as u32)?)?;
        } else {
            // Past 10^38 the quotient is 0 or 1 whatever the mantissa; clamp to keep i128.
            den = 10i128.checked_pow((-self.exp10).min(38) as u32)?;
        }
        let value = num / den + i128::from(num % den != 0);
        i64::try_from(value).ok()
    }

    /// Value in thousandths, rounded up (how CPU is counted: millicores).
    pub fn milli_value(&self) -> Option<i64> {
        self.scaled_ceil(1000)
    }

    /// Whole value, rounded up (bytes for memory and storage, a count for everything else).
    pub fn value(&self) -> Option<i64> {
        self.scaled_ceil(1)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}e{}", self.mantissa, self.exp10)?;
        if self.exp1024 > 0 {
            write!(f, "*1024^{}", self.exp1024)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn milli(s: &str) -> i64 {
        Quantity::parse(s).unwrap().milli_value().unwrap()
    }
    fn value(s: &str) -> i64 {
        Quantity::parse(s).unwrap().value().unwrap()
    }

    #[test]
    fn decimal_suffixes() {
        assert_eq!(milli("500m"), 500);
        assert_eq!(milli("2"), 2000);
        assert_eq!(milli("0.1"), 100);
        assert_eq!(milli(".5"), 500);
        assert_eq!(milli("1."), 1000);
        assert_eq!(milli("+3"), 3000);
        assert_eq!(value("1k"), 1_000);
        assert_eq!(value("1M"), 1_000_000);
        assert_eq!(value("2G"), 2_000_000_000);
        assert_eq!(value("1T"), 1_000_000_000_000);
        assert_eq!(value("1P"), 1_000_000_000_000_000);
        assert_eq!(value("1E"), 1_000_000_000_000_000_000);
        assert_eq!(milli("1500u"), 2, "1.5 milli rounds up to 2");
        assert_eq!(milli("1000000n"), 1);
        assert_eq!(milli("1n"), 1, "any positive amount rounds up to one unit");
    }

    #[test]
    fn binary_suffixes_and_fractions() {
        assert_eq!(value("1Ki"), 1024);
        assert_eq!(value("128Mi"), 128 * 1024 * 1024);
        assert_eq!(value("1.5Gi"), 1_610_612_736);
        assert_eq!(value("1Ti"), 1 << 40);
        assert_eq!(value("1Pi"), 1 << 50);
        assert_eq!(value("1Ei"), 1 << 60);
        assert_eq!(value("0.5Ki"), 512);
        assert_eq!(value("63461372Ki"), 63_461_372 * 1024);
    }

    #[test]
    fn decimal_exponents() {
        assert_eq!(value("1e3"), 1000);
        assert_eq!(value("1E3"), 1000);
        assert_eq!(value("1.5e+3"), 1500);
        assert_eq!(milli("5e-1"), 500);
        assert_eq!(milli("25e-3"), 25);
        assert_eq!(value("12e6"), 12_000_000);
    }

    #[test]
    fn zero_and_whitespace() {
        assert_eq!(milli("0"), 0);
        assert_eq!(milli("-0"), 0);
        assert_eq!(value(" 1Gi "), 1 << 30);
    }

    cases! { is_malformed;
        empty: "",
        a_word: "abc",
        two_decimal_points: "1.2.3",
        a_suffix_kubernetes_does_not_know: "1Gb",
        a_space_before_the_suffix: "1 Gi",
        a_suffix_without_a_number: "Gi",
        a_point_alone: ".",
        an_exponent_without_digits: "1e",
        an_exponent_with_only_a_sign: "1e+",
        a_doubled_exponent_marker: "1ee3",
        a_doubled_sign: "--1",
        digits_after_the_suffix: "1m5",
        hexadecimal: "0x10",
        a_decimal_comma: "1,5",
    }

    /// Malformed input is an error, not a panic.
    fn is_malformed(bad: &str) {
        assert!(
            matches!(Quantity::parse(bad), Err(QuantityError::Malformed(_))),
            "{bad:?} should be malformed, got {:?}",
            Quantity::parse(bad)
        );
    }

    #[test]
    fn out_of_range_input_is_an_error_not_a_panic() {
        assert!(matches!(
            Quantity::parse("-1"),
            Err(QuantityError::Negative(_))
        ));
        assert!(matches!(
            Quantity::parse("1e99"),
            Err(QuantityError::TooLarge(_))
        ));
        assert!(matches!(
            Quantity::parse("1234567890123456789012345678901234"),
            Err(QuantityError::TooLarge(_))
        ));
        // Parses, but does not fit the integer unit.
        assert_eq!(Quantity::parse("100Ei").unwrap().value(), None);
        assert_eq!(Quantity::parse("1e30").unwrap().milli_value(), None);
    }

    #[test]
    fn error_message_names_the_input() {
        let err = Quantity::parse("12 cores").unwrap_err().to_string();
        assert!(err.contains("\"12 cores\""), "{err}");
        assert!(err.contains("1.5Gi"), "{err}");
    }
}
