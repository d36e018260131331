//! idmaj: rules-based eligibility and allocation for reintegration programmes.
//!
//! Planners write eligibility and scoring rules as rhai scripts, keep thresholds and
//! budgets in a TOML [`Scenario`], and feed applicant lists as CSV. Each stage is a
//! function with plain data in and out:
//!
//! ```
//! use idmaj::{pipeline, Scenario, Status};
//!
//! # fn main() -> idmaj::Result<()> {
//! let scenario = Scenario::load("scenarios/tangier-2016".as_ref())?;
//! let assessments = pipeline::assess_all(&scenario)?;
//! let eligible = assessments.iter().filter(|a| a.status == Status::Eligible).count();
//! assert_eq!(assessments.len(), 44);
//! assert_eq!(eligible, 24);
//! for a in assessments.iter().filter(|a| !a.eligible()) {
//!     // Every ineligible applicant has at least one failed check, with its text.
//!     assert!(a.failed().next().is_some());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Stages: [`scenario`] (TOML, checked), [`applicant`] (CSV in any spreadsheet dialect),
//! [`rules`] (the sandboxed rhai engine), [`pipeline`] (streaming, parallel assessment),
//! [`allocate`] (the optimal allocation), [`report`] (outputs); planner tools:
//! [`sweep`] (what-if over budgets and settings) and [`compare`] (who changes outcome).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod allocate;
pub mod applicant;
pub mod assessment;
pub mod cases;
pub mod compare;
pub mod date;
pub mod dialect;
pub mod error;
pub mod generate;
pub mod overrides;
pub mod pipeline;
pub mod report;
pub mod rules;
pub mod scenario;
mod suggest;
pub mod sweep;

pub use allocate::{allocate, Allocation, ConstraintReport};
pub use applicant::{read_applicants, Applicant, Gender};
pub use assessment::{Assessment, Check, Offer, ScoreItem, Status};
pub use date::Date;
pub use error::{Error, Problem, Problems, Result};
pub use scenario::{Funder, Kind, Kit, Mad, Objective, Quota, Scenario};
