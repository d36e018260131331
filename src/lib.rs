//! idmaj: rules-based eligibility and allocation for reintegration programmes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod allocate;
pub mod applicant;
pub mod assessment;
pub mod cases;
pub mod date;
pub mod dialect;
pub mod error;
pub mod generate;
pub mod pipeline;
pub mod report;
pub mod rules;
pub mod scenario;
mod suggest;

pub use applicant::{read_applicants, Applicant, Gender};
pub use assessment::{Assessment, Check, Offer, ScoreItem, Status};
pub use date::Date;
pub use error::{Error, Problem, Problems, Result};
pub use scenario::{Funder, Kind, Kit, Mad, Objective, Quota, Scenario};
