//! The allocation model in one place: candidates (eligible applicants with a fundable offer,
//! in id order), their options, and every coupling row in exact integers.
//!
//! Every constraint is written as `Σ a·x ≤ b` over the option binaries, with integer `a` and
//! `b`, so that the solver (floats) and the verifier (integers) read the same rows. Funding
//! flows are not variables: because earmarks depend only on (city, kind), a flow from the
//! funders exists exactly when, for every set of (city, kind) cells, the demand of the cells
//! is at most the money of the funders allowed to pay for any of them (Gale's theorem for
//! transportation problems). Those cut rows replace the flow variables.

use std::collections::BTreeMap;

use crate::assessment::Assessment;
use crate::error::{Error, Result};
use crate::scenario::{Kind, Mad, Objective, Scenario};

/// Most distinct funder earmarks the cut rows are enumerated for (2^N subsets).
pub(crate) const MAX_EARMARK_CLASSES: usize = 16;

/// What a row stands for, so reports and explanations can name it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RowKind {
    /// `budget.total`.
    Total,
    /// `budget.cities.NAME`.
    City(String),
    /// Money of these funders (scenario indices) against the demand they alone may pay.
    Funders(Vec<usize>),
    /// Stock of a kit (scenario index).
    Stock(usize),
    /// A quota bound: quota index and which bound.
    Quota(usize, QuotaBound),
    /// Served at least this many (second stage of served_then_score).
    Served,
}

/// Which bound of a quota a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuotaBound {
    MinShare,
    MaxShare,
    MinCount,
    MaxCount,
}

impl QuotaBound {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            QuotaBound::MinShare => "min_share",
            QuotaBound::MaxShare => "max_share",
            QuotaBound::MinCount => "min_count",
            QuotaBound::MaxCount => "max_count",
        }
    }
}

/// One coupling row `Σ a·x ≤ b`.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub name: String,
    pub kind: RowKind,
    /// Right-hand side, exact.
    pub b: i64,
    /// Largest |a| in the row (≥ 1); the solver sees the row divided by it.
    pub scale: f64,
    /// For share rows, the denominator q of the share p/q (to report per person).
    pub per_person: f64,
}

/// One option of a candidate: an offer the rules made that some funder may pay.
#[derive(Debug, Clone)]
pub(crate) struct Opt {
    /// Index into the assessment's offers.
    pub offer: usize,
    pub cost: Mad,
    /// Range into the model's coefficient arrays.
    pub start: usize,
    pub end: usize,
}

/// An eligible applicant with at least one fundable offer.
#[derive(Debug, Clone)]
pub(crate) struct Cand {
    /// Index of the assessment in the input.
    pub input: usize,
    pub city: usize,
    pub opts: Vec<Opt>,
}

/// The whole model.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub cands: Vec<Cand>,
    pub rows: Vec<Row>,
    /// Row of each coefficient.
    pub row_of: Vec<u32>,
    /// Exact coefficient.
    pub coef: Vec<i64>,
    /// Coefficient divided by its row's scale.
    pub coef_s: Vec<f64>,
    /// Right-hand sides divided by the row scale.
    pub b_s: Vec<f64>,
    /// Value of serving each candidate (any option), in the objective being maximised.
    pub value: Vec<f64>,
    /// True when every value is a whole number, so bounds can be rounded down.
    pub integral_values: bool,
    /// Reasons an eligible applicant's offers cannot be funded at all (input index → text).
    pub unfundable: BTreeMap<usize, String>,
}

/// A share `s` as the exact rational `p/q` of its shortest decimal form.
pub(crate) fn share_rational(s: f64) -> (i64, i64) {
    let text = format!("{s}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let frac = &frac[..frac.len().min(15)];
    let q = 10i64.pow(frac.len() as u32);
    let p = int.parse::<i64>().unwrap_or(0) * q + frac.parse::<i64>().unwrap_or(0);
    (p, q)
}

/// A cell index: two per city, kit then cash.
fn cell(city: usize, kind: Kind) -> usize {
    city * 2 + usize::from(kind == Kind::Cash)
}

struct Builder {
    /// Every (option, row, coefficient) before rows are finalised, in the order added;
    /// options are numbered across candidates (see `first_opt`).
    entries: Vec<(u32, u32, i64)>,
    /// Number of each candidate's first option; one more at the end.
    first_opt: Vec<u32>,
    rows: Vec<Row>,
}

impl Builder {
    /// Records coefficient `a` of option `k` of candidate `ci` in row `r`.
    fn push(&mut self, ci: usize, k: usize, r: usize, a: i64) {
        self.entries
            .push((self.first_opt[ci] + k as u32, r as u32, a));
    }

    fn add_row(&mut self, name: String, kind: RowKind, b: i64) -> usize {
        self.rows.push(Row {
            name,
            kind,
            b,
            scale: 1.0,
            per_person: 1.0,
        });
        self.rows.len() - 1
    }
}

/// Builds the model for `objective` (score or served values; served_then_score callers
/// set values themselves).
pub(crate) fn build(scenario: &Scenario, assessments: &[Assessment]) -> Result<Model> {
    let mut cities: Vec<String> = scenario.market.cities.clone();
    let mut city_index: BTreeMap<String, usize> = cities
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), i))
        .collect();
    let mut order: Vec<usize> = (0..assessments.len())
        .filter(|&i| assessments[i].eligible() && !assessments[i].offers.is_empty())
        .collect();
    order.sort_by(|&a, &b| assessments[a].id.cmp(&assessments[b].id).then(a.cmp(&b)));

    let mut cands = Vec::new();
    let mut parts: Vec<Vec<Vec<(usize, Mad)>>> = Vec::new(); // per cand, per opt: (cell, MAD)
    let mut unfundable = BTreeMap::new();
    for &i in &order {
        let a = &assessments[i];
        if let Some(q) = a
            .quotas
            .iter()
            .find(|q| !scenario.quotas.iter().any(|x| x.name == **q))
        {
            return Err(Error::from(
                crate::error::Problem::error(
                    "",
                    format!("assessment of applicant {} names quota `{q}`, which the scenario does not have", a.id),
                )
                .applicant(&a.id)
                .column("quotas"),
            ));
        }
        let city = match city_index.get(&a.city) {
            Some(&c) => c,
            None => {
                cities.push(a.city.clone());
                city_index.insert(a.city.clone(), cities.len() - 1);
                cities.len() - 1
            }
        };
        let mut opts = Vec::new();
        let mut cand_parts = Vec::new();
        let mut why = None;
        for (k, o) in a.offers.iter().enumerate() {
            if o.kit_cost < 0 || o.cash < 0 {
                return Err(Error::Internal(format!(
                    "assessment {} has an offer with a negative amount",
                    a.id
                )));
            }
            let mut ps = Vec::new();
            let mut ok = true;
            for (kind, amount) in [(Kind::Kit, o.kit_cost), (Kind::Cash, o.cash)] {
                if amount == 0 {
                    continue;
                }
                if !scenario.funders.iter().any(|f| f.may_pay(&a.city, kind)) {
                    ok = false;
                    why.get_or_insert_with(|| {
                        format!("no funder may pay for {kind} in {}", a.city)
                    });
                }
                ps.push((cell(city, kind), amount));
            }
            if ok {
                opts.push(Opt {
                    offer: k,
                    cost: o.cost(),
                    start: 0,
                    end: 0,
                });
                cand_parts.push(ps);
            }
        }
        if opts.is_empty() {
            unfundable.insert(i, why.unwrap_or_else(|| "no fundable offer".into()));
            continue;
        }
        cands.push(Cand {
            input: i,
            city,
            opts,
        });
        parts.push(cand_parts);
    }

    let mut first_opt = Vec::with_capacity(cands.len() + 1);
    first_opt.push(0u32);
    for c in &cands {
        first_opt.push(first_opt[first_opt.len() - 1] + c.opts.len() as u32);
    }
    let mut bld = Builder {
        entries: Vec::new(),
        first_opt,
        rows: Vec::new(),
    };

    // Money rows.
    if let Some(total) = scenario.budget_total {
        let r = bld.add_row("budget.total".into(), RowKind::Total, total);
        for (ci, c) in cands.iter().enumerate() {
            for (k, o) in c.opts.iter().enumerate() {
                bld.push(ci, k, r, o.cost);
            }
        }
    }
    for (city, &cap) in &scenario.city_caps {
        let Some(&cidx) = city_index.get(city) else {
            continue;
        };
        let r = bld.add_row(
            format!("budget.cities.{city}"),
            RowKind::City(city.clone()),
            cap,
        );
        for (ci, c) in cands.iter().enumerate() {
            if c.city == cidx {
                for (k, o) in c.opts.iter().enumerate() {
                    bld.push(ci, k, r, o.cost);
                }
            }
        }
    }
    funder_rows(scenario, &cities, &cands, &parts, &mut bld)?;

    // Kit stock.
    for (ki, kit) in scenario.kits.iter().enumerate() {
        let Some(stock) = kit.stock else { continue };
        let r = bld.add_row(
            format!("kit.{}.stock", kit.id),
            RowKind::Stock(ki),
            i64::from(stock),
        );
        for (ci, c) in cands.iter().enumerate() {
            let a = &assessments[c.input];
            for (k, o) in c.opts.iter().enumerate() {
                if a.offers[o.offer].kit.as_deref() == Some(kit.id.as_str()) {
                    bld.push(ci, k, r, 1);
                }
            }
        }
    }

    // Quotas.
    for (qi, q) in scenario.quotas.iter().enumerate() {
        let bounds = [
            (QuotaBound::MinShare, q.min_share.map(share_rational)),
            (QuotaBound::MaxShare, q.max_share.map(share_rational)),
            (QuotaBound::MinCount, q.min_count.map(|m| (i64::from(m), 1))),
            (QuotaBound::MaxCount, q.max_count.map(|m| (i64::from(m), 1))),
        ];
        for (bound, v) in bounds {
            let Some((p, den)) = v else { continue };
            // Applicants committed in an earlier batch count among those served.
            let (s0, g0) = scenario.committed_counts.as_ref().map_or((0, 0), |c| {
                (c.served, c.members.get(qi).copied().unwrap_or(0))
            });
            let b = match bound {
                QuotaBound::MinShare => den * g0 - p * s0,
                QuotaBound::MaxShare => p * s0 - den * g0,
                QuotaBound::MinCount => -p,
                QuotaBound::MaxCount => p,
            };
            let r = bld.add_row(
                format!("quota.{}.{}", q.name, bound.as_str()),
                RowKind::Quota(qi, bound),
                b,
            );
            bld.rows[r].per_person = den as f64;
            for (ci, c) in cands.iter().enumerate() {
                let g = i64::from(assessments[c.input].in_quota(&q.name));
                let a = match bound {
                    QuotaBound::MinShare => p - den * g,
                    QuotaBound::MaxShare => den * g - p,
                    QuotaBound::MinCount => -g,
                    QuotaBound::MaxCount => g,
                };
                if a != 0 {
                    for k in 0..c.opts.len() {
                        bld.push(ci, k, r, a);
                    }
                }
            }
        }
    }

    let values: Vec<f64> = cands
        .iter()
        .map(|c| match scenario.objective {
            Objective::Served => 1.0,
            _ => assessments[c.input].score,
        })
        .collect();
    Ok(finish(cands, bld, values, unfundable))
}

/// Adds the cut rows that stand for the funding flow.
fn funder_rows(
    scenario: &Scenario,
    cities: &[String],
    cands: &[Cand],
    parts: &[Vec<Vec<(usize, Mad)>>],
    bld: &mut Builder,
) -> Result<()> {
    let ncells = cities.len() * 2;
    // Funders with the same earmark form one class (their money adds up).
    let mut classes: Vec<(Vec<usize>, Vec<bool>)> = Vec::new(); // (funders, cells allowed)
    for (fi, f) in scenario.funders.iter().enumerate() {
        let allowed: Vec<bool> = (0..ncells)
            .map(|c| {
                let kind = if c % 2 == 0 { Kind::Kit } else { Kind::Cash };
                f.may_pay(&cities[c / 2], kind)
            })
            .collect();
        match classes.iter_mut().find(|(_, a)| *a == allowed) {
            Some((fs, _)) => fs.push(fi),
            None => classes.push((vec![fi], allowed)),
        }
    }
    if classes.len() > MAX_EARMARK_CLASSES {
        return Err(Error::Internal(format!(
            "{} distinct funder earmarks; the allocator handles at most {MAX_EARMARK_CLASSES}",
            classes.len()
        )));
    }
    // Largest demand each cell could have.
    let mut max_demand = vec![0i64; ncells];
    for (ci, c) in cands.iter().enumerate() {
        let mut best = [0i64; 2];
        for p in &parts[ci] {
            for &(cell, amount) in p {
                best[cell % 2] = best[cell % 2].max(amount);
            }
        }
        max_demand[c.city * 2] += best[0];
        max_demand[c.city * 2 + 1] += best[1];
    }
    // Which classes may pay each cell (bitmask), for cells with any demand.
    let payers: Vec<u32> = (0..ncells)
        .map(|c| {
            classes
                .iter()
                .enumerate()
                .filter(|(_, (_, a))| a[c])
                .fold(0u32, |m, (k, _)| m | (1 << k))
        })
        .collect();
    let amount = |mask: u32| -> i64 {
        classes
            .iter()
            .enumerate()
            .filter(|(k, _)| mask & (1 << k) != 0)
            .flat_map(|(_, (fs, _))| fs.iter().map(|&f| scenario.funders[f].amount))
            .sum()
    };
    // Each subset T of classes gives the cells only T may pay; keep the tightest row per set.
    let mut cuts: BTreeMap<Vec<bool>, (u32, i64)> = BTreeMap::new();
    for t in 1u32..(1u32 << classes.len()) {
        let cells: Vec<bool> = (0..ncells)
            .map(|c| max_demand[c] > 0 && payers[c] != 0 && payers[c] & !t == 0)
            .collect();
        if !cells.iter().any(|&x| x) {
            continue;
        }
        let union = (0..ncells)
            .filter(|&c| cells[c])
            .fold(0u32, |m, c| m | payers[c]);
        let money = amount(union);
        let demand: i64 = (0..ncells)
            .filter(|&c| cells[c])
            .map(|c| max_demand[c])
            .sum();
        if money >= demand || scenario.budget_total.is_some_and(|t| money >= t) {
            continue;
        }
        cuts.entry(cells).or_insert((union, money));
    }
    // Drop cuts implied by a cut over more cells with no more money.
    let list: Vec<(Vec<bool>, u32, i64)> = cuts.into_iter().map(|(c, (u, m))| (c, u, m)).collect();
    for (i, (cells, union, money)) in list.iter().enumerate() {
        let implied = list.iter().enumerate().any(|(j, (c2, _, m2))| {
            j != i
                && m2 <= money
                && cells.iter().zip(c2).all(|(&a, &b)| !a || b)
                && (m2 < money || c2 != cells || j < i)
        });
        if implied {
            continue;
        }
        let funders: Vec<usize> = {
            let mut v: Vec<usize> = classes
                .iter()
                .enumerate()
                .filter(|(k, _)| union & (1 << k) != 0)
                .flat_map(|(_, (fs, _))| fs.iter().copied())
                .collect();
            v.sort_unstable();
            v
        };
        let name = format!(
            "funder.{}",
            funders
                .iter()
                .map(|&f| scenario.funders[f].id.as_str())
                .collect::<Vec<_>>()
                .join("+")
        );
        let r = bld.add_row(name, RowKind::Funders(funders), *money);
        for (ci, p) in parts.iter().enumerate() {
            for (k, ps) in p.iter().enumerate() {
                let a: i64 = ps.iter().filter(|(c, _)| cells[*c]).map(|(_, m)| m).sum();
                if a != 0 {
                    bld.push(ci, k, r, a);
                }
            }
        }
    }
    Ok(())
}

fn finish(
    mut cands: Vec<Cand>,
    bld: Builder,
    value: Vec<f64>,
    unfundable: BTreeMap<usize, String>,
) -> Model {
    let Builder {
        entries,
        first_opt,
        rows,
    } = bld;
    // Each option's entries together, in the order added (a counting sort by option).
    let nopts = first_opt[first_opt.len() - 1] as usize;
    let mut at = vec![0usize; nopts + 1];
    for &(o, _, _) in &entries {
        at[o as usize + 1] += 1;
    }
    for o in 0..nopts {
        at[o + 1] += at[o];
    }
    let mut by_opt = vec![(0u32, 0i64); entries.len()];
    let mut next = at.clone();
    for &(o, r, a) in &entries {
        by_opt[next[o as usize]] = (r, a);
        next[o as usize] += 1;
    }
    drop(entries);
    for o in 0..nopts {
        by_opt[at[o]..at[o + 1]].sort_unstable();
    }
    // Rows that no choice can break are left out of the solver.
    let nrows = rows.len();
    let mut worst = vec![0i128; nrows];
    let mut scale = vec![1i64; nrows];
    // The most each candidate can take of each row (0 at least), over its options.
    let mut most = vec![0i64; nrows];
    let mut touched: Vec<usize> = Vec::new();
    for w in first_opt.windows(2) {
        for &(r, a) in &by_opt[at[w[0] as usize]..at[w[1] as usize]] {
            let r = r as usize;
            if !touched.contains(&r) {
                touched.push(r);
            }
            most[r] = most[r].max(a);
            scale[r] = scale[r].max(a.abs());
        }
        for r in touched.drain(..) {
            worst[r] += i128::from(most[r]);
            most[r] = 0;
        }
    }
    let keep: Vec<bool> = (0..nrows)
        .map(|r| worst[r] > i128::from(rows[r].b))
        .collect();
    let mut new_index = vec![u32::MAX; nrows];
    let mut kept = Vec::new();
    for (r, row) in rows.into_iter().enumerate() {
        if keep[r] {
            new_index[r] = kept.len() as u32;
            kept.push(Row {
                scale: scale[r] as f64,
                ..row
            });
        }
    }
    let mut row_of = Vec::with_capacity(by_opt.len());
    let mut coef = Vec::with_capacity(by_opt.len());
    let mut coef_s = Vec::with_capacity(by_opt.len());
    let mut o = 0;
    for c in &mut cands {
        for opt in &mut c.opts {
            opt.start = row_of.len();
            for &(r, a) in &by_opt[at[o]..at[o + 1]] {
                if keep[r as usize] {
                    let nr = new_index[r as usize];
                    row_of.push(nr);
                    coef.push(a);
                    coef_s.push(a as f64 / kept[nr as usize].scale);
                }
            }
            opt.end = row_of.len();
            o += 1;
        }
    }
    let b_s = kept.iter().map(|r| r.b as f64 / r.scale).collect();
    let integral_values = value.iter().all(|v| v.fract() == 0.0);
    Model {
        cands,
        rows: kept,
        row_of,
        coef,
        coef_s,
        b_s,
        value,
        integral_values,
        unfundable,
    }
}

impl Model {
    /// Adds the row "served at least `n`" (second stage of served_then_score).
    pub(crate) fn add_served_row(&mut self, n: i64) {
        let every = vec![-1; self.cands.len()];
        self.add_row("served".into(), RowKind::Served, -n, &every);
    }

    /// Adds the row `Σ a[c]·x ≤ b`, where `a[c]` is candidate `c`'s coefficient whatever its
    /// option (each `|a|` at most 1, so the row's scale is 1).
    pub(crate) fn add_row(&mut self, name: String, kind: RowKind, b: i64, a: &[i64]) {
        debug_assert!(a.len() == self.cands.len() && a.iter().all(|x| x.abs() <= 1));
        let r = self.rows.len() as u32;
        self.rows.push(Row {
            name,
            kind,
            b,
            scale: 1.0,
            per_person: 1.0,
        });
        self.b_s.push(b as f64);
        let mut row_of = Vec::with_capacity(self.row_of.len() + self.cands.len() * 2);
        let mut coef = Vec::with_capacity(row_of.capacity());
        let mut coef_s = Vec::with_capacity(row_of.capacity());
        for (c, cand) in self.cands.iter_mut().enumerate() {
            for o in &mut cand.opts {
                let start = row_of.len();
                row_of.extend_from_slice(&self.row_of[o.start..o.end]);
                coef.extend_from_slice(&self.coef[o.start..o.end]);
                coef_s.extend_from_slice(&self.coef_s[o.start..o.end]);
                if a[c] != 0 {
                    row_of.push(r);
                    coef.push(a[c]);
                    coef_s.push(a[c] as f64);
                }
                o.start = start;
                o.end = row_of.len();
            }
        }
        self.row_of = row_of;
        self.coef = coef;
        self.coef_s = coef_s;
    }

    /// The model of the candidates `keep` alone, each row's right-hand side lowered by
    /// `outside` (what everyone else uses of it); row scales are kept, so prices carry over.
    pub(crate) fn restrict(&self, keep: &[usize], outside: &[i128]) -> Model {
        let mut row_of = Vec::new();
        let mut coef = Vec::new();
        let mut coef_s = Vec::new();
        let cands = keep
            .iter()
            .map(|&c| {
                let mut cand = self.cands[c].clone();
                for o in &mut cand.opts {
                    let start = row_of.len();
                    row_of.extend_from_slice(&self.row_of[o.start..o.end]);
                    coef.extend_from_slice(&self.coef[o.start..o.end]);
                    coef_s.extend_from_slice(&self.coef_s[o.start..o.end]);
                    o.start = start;
                    o.end = row_of.len();
                }
                cand
            })
            .collect();
        let rows: Vec<Row> = self
            .rows
            .iter()
            .zip(outside)
            .map(|(r, u)| Row {
                b: (i128::from(r.b) - u).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
                ..r.clone()
            })
            .collect();
        let b_s = rows.iter().map(|r| r.b as f64 / r.scale).collect();
        let value: Vec<f64> = keep.iter().map(|&c| self.value[c]).collect();
        Model {
            cands,
            rows,
            row_of,
            coef,
            coef_s,
            b_s,
            integral_values: self.integral_values,
            value,
            unfundable: BTreeMap::new(),
        }
    }

    /// Sets the value of serving each candidate.
    pub(crate) fn set_values(&mut self, value: Vec<f64>) {
        self.integral_values = value.iter().all(|v| v.fract() == 0.0);
        self.value = value;
    }

    /// Number of rows in the solver.
    pub(crate) fn nrows(&self) -> usize {
        self.rows.len()
    }

    /// Exact coefficient of option `o` in row `r` (0 when it does not use the row).
    pub(crate) fn coef_in(&self, o: &Opt, r: usize) -> i64 {
        (o.start..o.end)
            .find(|&k| self.row_of[k] as usize == r)
            .map_or(0, |k| self.coef[k])
    }

    /// Profit of an option at prices `lambda` (scaled rows): value minus priced usage.
    #[inline]
    pub(crate) fn profit(&self, cand: usize, opt: usize, lambda: &[f64]) -> f64 {
        let o = &self.cands[cand].opts[opt];
        let mut p = self.value[cand];
        for k in o.start..o.end {
            p -= self.coef_s[k] * lambda[self.row_of[k] as usize];
        }
        p
    }
}
