//! Golden paths as the catalog sees them: which template a Component was made from, at which version, and where
//! that version stands among the versions of the template kept so far — [`drift`], a pure function.
//!
//! A Component names its template with [`SOURCE_TEMPLATE_ANNOTATION`] and the version it was made with (or last
//! updated to) with [`TEMPLATE_VERSION_ANNOTATION`]. The versions themselves are kept by the scaffolding crate
//! (`store::templates`); the catalog index reads them to facet the catalog by [`DriftStatus`].

use semver::Version;
use serde::{Deserialize, Serialize};

use crate::entity::{DEFAULT_NAMESPACE, EntityRef, Kind};

/// The annotation naming the template a service was made from.
pub const SOURCE_TEMPLATE_ANNOTATION: &str = "backstage.io/source-template";
/// The annotation naming the template version a service was made from.
pub const TEMPLATE_VERSION_ANNOTATION: &str = "portolan.dev/template-version";

/// Where a service stands against its golden-path template.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Drift {
    /// The service names no template.
    #[default]
    NotFromTemplate,
    /// It names a template the catalog has never held.
    UnknownTemplate { template: String },
    /// It names a template but no version, or a version that is not semver.
    UnknownVersion { template: String, version: Option<String>, latest: String },
    /// On the latest version (or newer than any kept).
    UpToDate { template: String, version: String },
    /// `behind` versions behind the latest.
    Behind { template: String, version: String, latest: String, behind: usize },
}

impl Drift {
    /// A short name for facets and counts: `up_to_date`, `behind`, `unknown`, `none`.
    pub fn facet(&self) -> &'static str {
        self.status().as_str()
    }

    /// The drift at a glance, as the catalog's facet counts it.
    pub fn status(&self) -> DriftStatus {
        match self {
            Drift::NotFromTemplate => DriftStatus::None,
            Drift::UnknownTemplate { .. } | Drift::UnknownVersion { .. } => DriftStatus::Unknown,
            Drift::UpToDate { .. } => DriftStatus::UpToDate,
            Drift::Behind { .. } => DriftStatus::Behind,
        }
    }

    pub fn is_behind(&self) -> bool {
        matches!(self, Drift::Behind { .. })
    }

    /// How many versions behind the latest (0 unless [`Drift::Behind`]).
    pub fn behind(&self) -> usize {
        match self {
            Drift::Behind { behind, .. } => *behind,
            _ => 0,
        }
    }
}

/// The drift of a service that names `template` (its `backstage.io/source-template`) at `version`, given the
/// template's known versions (any order).
pub fn drift(template: Option<&str>, version: Option<&str>, known: &[Version]) -> Drift {
    let Some(template) = template else {
        return Drift::NotFromTemplate;
    };
    let Some(latest) = known.iter().max() else {
        return Drift::UnknownTemplate { template: template.to_owned() };
    };
    let parsed = version.and_then(|v| Version::parse(v.trim()).ok());
    let Some(current) = parsed else {
        return Drift::UnknownVersion {
            template: template.to_owned(),
            version: version.map(str::to_owned),
            latest: latest.to_string(),
        };
    };
    let behind = known.iter().filter(|v| **v > current).count();
    if behind == 0 {
        Drift::UpToDate { template: template.to_owned(), version: current.to_string() }
    } else {
        Drift::Behind {
            template: template.to_owned(),
            version: current.to_string(),
            latest: latest.to_string(),
            behind,
        }
    }
}

/// `template:default/NAME` from what a service's annotation says (`NAME`, `template:NAME`, or a full ref).
pub fn template_ref(annotation: &str) -> Option<EntityRef> {
    EntityRef::parse(annotation.trim(), Some(Kind::Template), DEFAULT_NAMESPACE).ok()
}

/// A Component's drift at a glance: the values of the catalog's "Golden path" facet. The order is the facet's,
/// most in need of attention first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftStatus {
    /// Made from a template that has newer versions.
    Behind,
    /// Names a template the catalog never held, or a version that is not semver.
    Unknown,
    /// On the latest version of its template.
    UpToDate,
    /// Names no template.
    None,
}

impl DriftStatus {
    /// Every value, in the facet's order.
    pub const ALL: [DriftStatus; 4] =
        [DriftStatus::Behind, DriftStatus::Unknown, DriftStatus::UpToDate, DriftStatus::None];

    /// The value in URLs and JSON (`golden_path=behind`), as [`Drift::facet`] names it.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftStatus::Behind => "behind",
            DriftStatus::Unknown => "unknown",
            DriftStatus::UpToDate => "up_to_date",
            DriftStatus::None => "none",
        }
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            DriftStatus::Behind => "Behind",
            DriftStatus::Unknown => "Unknown version",
            DriftStatus::UpToDate => "Up to date",
            DriftStatus::None => "No template",
        }
    }

    pub fn parse(text: &str) -> Option<DriftStatus> {
        let text = text.trim().to_ascii_lowercase().replace('-', "_");
        DriftStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

/// A Component's golden-path column: its [`DriftStatus`] and, when behind, by how many versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GoldenPath {
    pub status: DriftStatus,
    pub behind: u32,
}

impl GoldenPath {
    pub fn of(drift: &Drift) -> GoldenPath {
        GoldenPath { status: drift.status(), behind: u32::try_from(drift.behind()).unwrap_or(u32::MAX) }
    }

    pub fn is_behind(&self) -> bool {
        self.status == DriftStatus::Behind
    }

    /// The compact text of a list cell: `2 behind`, `up to date`, `unknown`; empty when no template is named.
    pub fn short(&self) -> String {
        match self.status {
            DriftStatus::Behind => format!("{} behind", self.behind),
            DriftStatus::Unknown => "unknown".to_owned(),
            DriftStatus::UpToDate => "up to date".to_owned(),
            DriftStatus::None => String::new(),
        }
    }

    /// The longer text of its tooltip.
    pub fn title(&self) -> String {
        match self.status {
            DriftStatus::Behind if self.behind == 1 => "1 version behind its golden-path template".to_owned(),
            DriftStatus::Behind => format!("{} versions behind its golden-path template", self.behind),
            DriftStatus::Unknown => "Its golden-path template or version is not known".to_owned(),
            DriftStatus::UpToDate => "On the latest version of its golden-path template".to_owned(),
            DriftStatus::None => "Not made from a golden-path template".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(list: &[&str]) -> Vec<Version> {
        list.iter().map(|v| Version::parse(v).expect("semver")).collect()
    }

    #[test]
    fn drift_counts_the_versions_after_the_service_s() {
        let known = versions(&["1.0.0", "2.0.0", "1.1.0", "1.1.0-rc.1"]);
        let t = Some("template:default/rust");
        assert_eq!(drift(None, Some("1.0.0"), &known), Drift::NotFromTemplate);
        assert_eq!(
            drift(t, Some("1.0.0"), &known),
            Drift::Behind {
                template: "template:default/rust".to_owned(),
                version: "1.0.0".into(),
                latest: "2.0.0".into(),
                behind: 3
            }
        );
        assert!(matches!(drift(t, Some("1.1.0"), &known), Drift::Behind { behind: 1, .. }));
        assert!(matches!(drift(t, Some("2.0.0"), &known), Drift::UpToDate { .. }));
        assert!(matches!(drift(t, Some("3.0.0"), &known), Drift::UpToDate { .. }), "newer than any kept");
        assert!(matches!(drift(t, Some("v1"), &known), Drift::UnknownVersion { .. }));
        assert!(matches!(drift(t, None, &known), Drift::UnknownVersion { .. }));
        assert!(matches!(drift(t, Some("1.0.0"), &[]), Drift::UnknownTemplate { .. }));
        assert_eq!(drift(t, Some("1.0.0"), &known).facet(), "behind");
        assert!(drift(t, Some("1.0.0"), &known).is_behind());
        assert!(!drift(t, Some("2.0.0"), &known).is_behind());
    }

    #[test]
    fn facet_names_of_each_drift() {
        let known = versions(&["1.0.0", "2.0.0"]);
        let t = Some("template:default/rust");
        let facet = |template, version| drift(template, version, &known).facet();
        assert_eq!(
            [facet(None, None), facet(t, Some("x")), facet(t, Some("2.0.0")), facet(t, Some("1.0.0"))],
            ["none", "unknown", "up_to_date", "behind"]
        );
        assert_eq!(drift(t, Some("1.0.0"), &[]).facet(), "unknown", "a template never kept");
    }

    #[test]
    fn template_refs_from_annotations() {
        let full = template_ref("template:default/rust-http-service").map(|r| r.to_string());
        assert_eq!(full.as_deref(), Some("template:default/rust-http-service"));
        assert_eq!(template_ref("rust-http-service").map(|r| r.to_string()), full);
        assert!(template_ref("a b").is_none());
    }

    #[test]
    fn statuses_parse_and_read() {
        for status in DriftStatus::ALL {
            assert_eq!(DriftStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(DriftStatus::parse(" Up-To-Date "), Some(DriftStatus::UpToDate));
        assert_eq!(DriftStatus::parse("late"), None);
        let behind = GoldenPath { status: DriftStatus::Behind, behind: 2 };
        assert_eq!((behind.short().as_str(), behind.is_behind()), ("2 behind", true));
        assert_eq!(
            GoldenPath { status: DriftStatus::Behind, behind: 1 }.title(),
            "1 version behind its golden-path template"
        );
        let current = GoldenPath::of(&drift(Some("t"), Some("1.0.0"), &versions(&["1.0.0"])));
        assert_eq!((current.short().as_str(), current.behind), ("up to date", 0));
    }
}
