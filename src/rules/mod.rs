//! The rule engine: sandboxed rhai scripts evaluated once per applicant.

/// The shipped rule files, in evaluation order, as (file name, contents): generated
/// scenarios carry a copy so they run anywhere.
pub const SHIPPED_RULES: &[(&str, &str)] = &[
    ("training.rhai", include_str!("../../rules/training.rhai")),
    ("project.rhai", include_str!("../../rules/project.rhai")),
    ("market.rhai", include_str!("../../rules/market.rhai")),
    ("release.rhai", include_str!("../../rules/release.rhai")),
    ("score.rhai", include_str!("../../rules/score.rhai")),
    ("options.rhai", include_str!("../../rules/options.rhai")),
];
