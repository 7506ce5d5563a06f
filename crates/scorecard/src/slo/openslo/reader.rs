//! Typed fields out of a YAML tree, each thing wrong reported where it is written and named by its field path
//! (`spec.objectives[0].target`), the way the catalog reports descriptors.

use std::fmt;

use catalog::yaml::{Node, Value};
use chrono::Duration;

use super::At;
use crate::slo::model::CalendarLength;

pub(super) use catalog::fields::{FieldReader as Reader, join, present};

/// The durations of OpenSLO and Sloth, read like the other fields.
pub(super) trait Durations {
    /// A duration shorthand such as `28d`; `minutes_if_number` also takes a bare number of minutes.
    fn duration(&mut self, node: &Node, path: &str, minutes_if_number: bool) -> Option<Shorthand>;
    /// A count and a unit name (`count: 30`, `unit: Day`), as OpenSLO v1alpha writes windows.
    fn count_and_unit(&mut self, parent: &Node, path: &str) -> Option<Shorthand>;
}

impl Durations for Reader {
    fn duration(&mut self, node: &Node, path: &str, minutes_if_number: bool) -> Option<Shorthand> {
        let parsed = match &node.value {
            Value::Str(text) => parse_shorthand(text),
            Value::Int(count) if minutes_if_number => Shorthand::new(*count, Unit::Minute, &count.to_string()),
            _ => Err(format!("must be a duration such as 5m, 28d or 1M, found {}", node.type_name())),
        };
        parsed.map_err(|reason| self.error(node.pos, format!("{path} {reason}"))).ok()
    }

    fn count_and_unit(&mut self, parent: &Node, path: &str) -> Option<Shorthand> {
        let count = self.required(parent, path, "count");
        let unit = self.required_string(parent, path, "unit");
        let (count, unit_text) = (count?, unit?);
        let count_path = join(path, "count");
        let Value::Int(count_value) = count.value else {
            self.error(count.pos, format!("{count_path} must be a whole number, found {}", count.type_name()));
            return None;
        };
        let Some(unit) = Unit::from_name(unit_text) else {
            let unit_pos = present(parent, "unit").map_or(parent.pos, |n| n.pos);
            self.error(
                unit_pos,
                format!(
                    "{} `{unit_text}` is not known; use Minute, Hour, Day, Week, Month, Quarter or Year",
                    join(path, "unit")
                ),
            );
            return None;
        };
        Shorthand::new(count_value, unit, &format!("{count_value} {unit_text}"))
            .map_err(|reason| self.error(count.pos, format!("{count_path} {reason}")))
            .ok()
    }
}

/// Where a field is written, for messages; the parent when the field is missing.
pub(super) fn at(parent: &Node, path: &str, field: &str) -> At {
    At { path: join(path, field), pos: parent.get(field).map_or(parent.pos, |n| n.pos) }
}

/// A unit of the duration shorthand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    fn from_symbol(symbol: char) -> Option<Unit> {
        Some(match symbol {
            'm' => Unit::Minute,
            'h' => Unit::Hour,
            'd' => Unit::Day,
            'w' => Unit::Week,
            'M' => Unit::Month,
            'Q' => Unit::Quarter,
            'Y' => Unit::Year,
            _ => return None,
        })
    }

    fn from_name(name: &str) -> Option<Unit> {
        [Unit::Minute, Unit::Hour, Unit::Day, Unit::Week, Unit::Month, Unit::Quarter, Unit::Year]
            .into_iter()
            .find(|unit| unit.name().eq_ignore_ascii_case(name))
    }

    fn symbol(self) -> char {
        match self {
            Unit::Minute => 'm',
            Unit::Hour => 'h',
            Unit::Day => 'd',
            Unit::Week => 'w',
            Unit::Month => 'M',
            Unit::Quarter => 'Q',
            Unit::Year => 'Y',
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Minute => "Minute",
            Unit::Hour => "Hour",
            Unit::Day => "Day",
            Unit::Week => "Week",
            Unit::Month => "Month",
            Unit::Quarter => "Quarter",
            Unit::Year => "Year",
        }
    }

    /// `count` of this unit; months, quarters and years count 30, 90 and 365 days.
    fn times(self, count: i64) -> Option<Duration> {
        match self {
            Unit::Minute => Duration::try_minutes(count),
            Unit::Hour => Duration::try_hours(count),
            Unit::Day => Duration::try_days(count),
            Unit::Week => Duration::try_weeks(count),
            Unit::Month => Duration::try_days(count.checked_mul(30)?),
            Unit::Quarter => Duration::try_days(count.checked_mul(90)?),
            Unit::Year => Duration::try_days(count.checked_mul(365)?),
        }
    }
}

/// A positive duration as written: a count and a unit, and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Shorthand {
    pub(super) count: i64,
    pub(super) unit: Unit,
    /// The length, months, quarters and years counted as 30, 90 and 365 days.
    pub(super) length: Duration,
}

impl Shorthand {
    /// `count` of `unit`, positive and within chrono's range; `written` is how the value is shown in a message.
    fn new(count: i64, unit: Unit, written: &str) -> Result<Shorthand, String> {
        if count <= 0 {
            return Err(format!("`{written}` must be longer than zero"));
        }
        let length = unit.times(count).ok_or_else(|| format!("`{written}` is too long"))?;
        Ok(Shorthand { count, unit, length })
    }

    /// The calendar period this duration names, if it is one Portolan counts.
    pub(super) fn calendar_length(&self) -> Option<CalendarLength> {
        Some(match (self.count, self.unit) {
            (1, Unit::Day) => CalendarLength::Day,
            (1, Unit::Week) | (7, Unit::Day) => CalendarLength::Week,
            (1, Unit::Month) => CalendarLength::Month,
            (1, Unit::Quarter) | (3, Unit::Month) => CalendarLength::Quarter,
            (1, Unit::Year) | (4, Unit::Quarter) | (12, Unit::Month) => CalendarLength::Year,
            _ => return None,
        })
    }
}

impl fmt::Display for Shorthand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.count, self.unit.symbol())
    }
}

/// `<positive whole number><unit>`, the unit one of `m h d w M Q Y`.
fn parse_shorthand(text: &str) -> Result<Shorthand, String> {
    let not_a_duration = || format!("`{text}` is not a duration: write a whole number and a unit, as in 5m, 4w or 1M");
    let symbol = text.chars().next_back().ok_or_else(not_a_duration)?;
    let digits = &text[..text.len() - symbol.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_a_duration());
    }
    let unit = Unit::from_symbol(symbol).ok_or_else(|| {
        format!("`{text}` has an unknown unit `{symbol}`; the units are m (minutes), h, d, w, M (months), Q and Y")
    })?;
    let count: i64 = digits.parse().map_err(|_| format!("`{text}` is too long"))?;
    Shorthand::new(count, unit, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorthand_units_and_lengths() {
        let cases = [
            ("5m", Duration::minutes(5)),
            ("12h", Duration::hours(12)),
            ("28d", Duration::days(28)),
            ("2w", Duration::weeks(2)),
            ("1M", Duration::days(30)),
            ("1Q", Duration::days(90)),
            ("1Y", Duration::days(365)),
        ];
        for (text, length) in cases {
            let parsed = parse_shorthand(text).expect(text);
            assert_eq!(parsed.length, length, "{text}");
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn shorthand_refusals() {
        assert_eq!(parse_shorthand("0d").expect_err("zero").as_str(), "`0d` must be longer than zero");
        assert_eq!(parse_shorthand("007d").map(|s| s.length).expect("leading zeros are digits"), Duration::days(7));
        assert_eq!(
            parse_shorthand("2s").expect_err("seconds"),
            "`2s` has an unknown unit `s`; the units are m (minutes), h, d, w, M (months), Q and Y"
        );
        for text in ["", "d", "1.5h", "-1d", "1 d", "five days"] {
            assert!(parse_shorthand(text).expect_err(text).contains("is not a duration"), "{text}");
        }
        assert_eq!(parse_shorthand("99999999999999999999d").expect_err("huge"), "`99999999999999999999d` is too long");
        assert_eq!(parse_shorthand("9999999999999Y").expect_err("huge"), "`9999999999999Y` is too long");
    }

    #[test]
    fn calendar_lengths() {
        let length = |text: &str| parse_shorthand(text).expect(text).calendar_length();
        assert_eq!(length("1d"), Some(CalendarLength::Day));
        assert_eq!(length("7d"), Some(CalendarLength::Week));
        assert_eq!(length("3M"), Some(CalendarLength::Quarter));
        assert_eq!(length("12M"), Some(CalendarLength::Year));
        assert_eq!(length("1m"), None);
        assert_eq!(length("2M"), None);
    }
}
