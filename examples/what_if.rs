//! A what-if: the same programme with 4 M MAD instead of 5.2 M, and with a 30% quota for
//! women, allocated over the same assessments (a budget or quota change does not re-score).
//!
//! `cargo run --example what_if`

use idmaj::Engine;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = Engine::load("scenarios/ramadan-2016")?;
    let assessments = base.assess_scenario()?;
    for (label, engine) in [
        ("as planned", base.clone()),
        (
            "4 M MAD",
            base.with_overrides(&[("budget.total", "4000000")])?,
        ),
        (
            "4 M MAD, 30% women",
            base.with_overrides(&[
                ("budget.total", "4000000"),
                ("quota.women.min_share", "0.3"),
            ])?,
        ),
    ] {
        let s = engine.allocate(&assessments)?.summary().clone();
        let women = s.by_gender.get("F").map_or(0, |t| t.served);
        println!(
            "{label:<20} served {:>3}, women {:>3}, spent {:>9} MAD",
            s.served, women, s.spent
        );
    }
    Ok(())
}
