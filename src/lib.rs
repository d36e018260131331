//! idmaj: rules-based eligibility and allocation for reintegration programmes.
//!
//! Planners write eligibility and scoring rules as rhai scripts, keep thresholds and
//! budgets in a TOML scenario, and list applicants. An [`Engine`] is one scenario, checked
//! and with its rules compiled: it assesses applicants (eligibility with its reasons, a
//! priority score, the options they may receive) and allocates kits and cash under every
//! budget, stock and quota, optimally, with a reason for everyone left out. Nothing needs a
//! file: the scenario can be given as strings, applicants as JSON or built in code.
//!
//! ```
//! use idmaj::{Applicant, Engine, Sources};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::from_sources(Sources {
//!     scenario_toml: r#"
//!         [program]
//!         name = "Pilot"
//!         date = "2016-06-06"
//!         [rules]
//!         files = ["rules.rhai"]
//!         [params]
//!         min_training_hours = 120
//!         [budget]
//!         total = 20_000
//!         [[kit]]
//!         id = "plumbing"
//!         trade = "plumbing"
//!         cost = 11_500
//!     "#
//!     .into(),
//!     labour_market_csv: "city,trade,demand\nTangier,plumbing,0.8\n".into(),
//!     rules: vec![(
//!         "rules.rhai".into(),
//!         r#"
//!         check("training", "enough hours of training",
//!               applicant.training_hours >= params.min_training_hours);
//!         add_score(100.0 * demand(applicant.city, applicant.plan_trade), "local demand");
//!         offer_kit(kit_for(applicant.plan_trade));
//!         "#
//!         .into(),
//!     )],
//!     applicants_csv: None,
//! })?;
//!
//! let applicant: Applicant = serde_json::from_value(serde_json::json!({
//!     "id": "A1", "gender": "F", "birth_year": 1990, "city": "Tangier",
//!     "release_date": "2016-01-15", "training_track": "plumbing", "training_hours": 200,
//!     "training_certified": true, "pm_training": "oui", "plan_trade": "plumbing",
//!     "plan_approved": true, "plan_cost": 12000, "experience_years": 2
//! }))?;
//! let assessment = engine.assess(&applicant)?;
//! assert!(assessment.eligible());
//!
//! let allocation = engine.allocate(&[assessment])?;
//! let decision = &allocation.decisions()[0];
//! assert_eq!(decision.kit.as_deref(), Some("plumbing"));
//! assert_eq!(decision.amount, 11_500);
//! assert_eq!(allocation.summary().served, 1);
//! println!("{}", serde_json::to_string(decision)?);
//! # Ok(())
//! # }
//! ```
//!
//! [`Engine::load`] reads the same parts from a scenario folder; [`Engine::with_overrides`]
//! makes a what-if (`budget.total`, `params.*`, quota shares...); [`Engine::sweep`] and
//! [`Engine::compare`] explore many. Every output type is `Serialize + Deserialize`, so
//! assessments read back from JSON allocate exactly like fresh ones.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Some writers (score rows, sweep and comparison files) serve only the command line.
#![cfg_attr(not(feature = "cli"), allow(dead_code))]

mod allocate;
mod applicant;
mod assessment;
pub mod cases;
mod compare;
mod csv_rows;
mod date;
mod decision;
mod dialect;
mod digits;
mod engine;
mod error;
pub mod generate;
mod hash;
mod output;
mod overrides;
mod pipeline;
mod report;
mod rules;
mod scenario;
mod suggest;
mod sweep;
mod xlsx;

#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
#[cfg(feature = "serve")]
mod serve;

#[cfg(test)]
mod fuzz;

pub use allocate::{Allocation, ConstraintReport, SearchProgress};
pub use applicant::{Applicant, FieldValue, Gender, CORE_COLUMNS};
pub use assessment::{Assessment, Check, Eligibility, Offer, ScoreItem, Status};
pub use compare::{Change, ChangeKind, Comparison, Totals};
pub use decision::{Decision, Funding, OptionKind, WhyNot, WhyNotKind};
pub use dialect::OutputDialect;
pub use engine::{Engine, KitInfo, ScenarioInfo, Sources};
pub use error::{Error, Problem, Problems, Result, Severity};
pub use overrides::{Override, SetValue};
pub use report::allocation::{
    ConstraintSummary, Manifest, ManifestInput, SolverManifest, Summary, Tally, Unspent,
};
pub use report::OutputOptions;
pub use scenario::Mad;
pub use sweep::{Setting, Sweep, SweepRow};
