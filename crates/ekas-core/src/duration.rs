//! Durations as operators type and read them: one parser for every flag and file that takes a
//! duration, and the two ways ekas writes one (coarse in reasons, to the second for waits).

use jiff::SignedDuration;

/// Whole seconds (`3300`, as the original tool took them) or a duration (`55m`, `1h 30m`,
/// `PT1H`); never negative.
pub fn parse(text: &str) -> Result<SignedDuration, String> {
    let t = text.trim();
    let duration = match t.parse::<i64>() {
        Ok(secs) => SignedDuration::from_secs(secs),
        Err(_) => t.parse::<SignedDuration>().map_err(|_| {
            format!(
                "{text:?} is not a duration: give seconds (3300) or a duration such as 55m or 1h30m"
            )
        })?,
    };
    if duration.is_negative() {
        return Err(format!("{text:?} is negative"));
    }
    Ok(duration)
}

/// Coarse, for reasons and logs: `42s`, `42m`, `3h 5m`, `4d` (seconds below 2 minutes, minutes
/// below 2 hours); negative reads as `0s`.
pub fn human(d: SignedDuration) -> String {
    let secs = d.as_secs().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d", s / 86_400),
    }
}

/// To the second, for waits: `0s`, `47s`, `3m 5s`, `2h 10m`.
pub fn precise(d: SignedDuration) -> String {
    let s = (d.as_millis() as f64 / 1000.0).round().max(0.0) as i64;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<i64, String> {
        parse(text).map(|d| d.as_secs())
    }

    cases! { parses_as_seconds;
        whole_seconds_as_the_original_tool_took_them: ("3300", 3300),
        minutes: ("55m", 3300),
        hours_and_minutes: ("1h 30m", 5400),
        hours_and_minutes_together: ("1h30m", 5400),
        iso_8601: ("PT1H", 3600),
        spaces_around: (" 10m ", 600),
    }

    fn parses_as_seconds((text, secs): (&str, i64)) {
        assert_eq!(parsed(text), Ok(secs), "{text}");
    }

    cases! { is_refused;
        a_word: ("soon", "is not a duration"),
        negative_seconds: ("-5", "is negative"),
        a_negative_duration: ("-5m", "is negative"),
        empty: ("", "is not a duration"),
    }

    fn is_refused((text, says): (&str, &str)) {
        let error = parse(text).unwrap_err();
        assert!(
            error.contains(says) && error.contains(&format!("{text:?}")),
            "{error}"
        );
    }

    cases! { reads_coarsely;
        seconds_below_two_minutes: (119, "119s"),
        minutes_from_two: (120, "2m"),
        minutes_below_two_hours: (7199, "119m"),
        hours_and_some_minutes: (11_100, "3h 5m"),
        days_from_two: (172_800, "2d"),
        negative_as_zero: (-5, "0s"),
    }

    fn reads_coarsely((secs, text): (i64, &str)) {
        assert_eq!(human(SignedDuration::from_secs(secs)), text);
    }

    cases! { reads_to_the_second;
        under_half_a_second: (400, "0s"),
        minutes_and_seconds: (185_000, "3m 5s"),
        hours_and_whole_minutes: (7_800_000, "2h 10m"),
    }

    fn reads_to_the_second((millis, text): (i64, &str)) {
        assert_eq!(precise(SignedDuration::from_millis(millis)), text);
    }
}
