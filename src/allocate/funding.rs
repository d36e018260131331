//! Who pays for what: an integral flow from funders to (city, kind) cells, then split to the
//! applicants of each cell in id order, funders in scenario order.
//!
//! The cut rows of the model guarantee that a flow exists; a max-flow on the small
//! cells × funders graph finds an integral one (augmenting paths keep flows integral).

use std::collections::VecDeque;

use crate::assessment::Assessment;
use crate::error::{Error, Result};
use crate::scenario::{Kind, Mad, Scenario};

/// One part of a payment: funder index, what it pays for, MAD.
pub(crate) type Part = (usize, Kind, Mad);

/// Funding of each served applicant (input order), by part.
///
/// `served` lists input indices in the order money is split (id order).
pub(crate) fn fund(
    scenario: &Scenario,
    assessments: &[Assessment],
    served: &[(usize, usize)],
) -> Result<Vec<Vec<Part>>> {
    let nf = scenario.funders.len();
    // Cells that have demand, in first-seen order (applicants are in id order).
    let mut cells: Vec<(String, Kind)> = Vec::new();
    let mut demand: Vec<Mad> = Vec::new();
    let mut parts_of: Vec<Vec<(usize, Mad)>> = Vec::with_capacity(served.len());
    for &(i, o) in served {
        let a = &assessments[i];
        let offer = &a.offers[o];
        let mut ps = Vec::new();
        for (kind, amount) in [(Kind::Kit, offer.kit_cost), (Kind::Cash, offer.cash)] {
            if amount == 0 {
                continue;
            }
            let k = match cells.iter().position(|(c, k)| *c == a.city && *k == kind) {
                Some(k) => k,
                None => {
                    cells.push((a.city.clone(), kind));
                    demand.push(0);
                    cells.len() - 1
                }
            };
            demand[k] += amount;
            ps.push((k, amount));
        }
        parts_of.push(ps);
    }
    let nc = cells.len();
    // Nodes: 0 source, 1..=nc cells, then funders, then sink.
    let n = nc + nf + 2;
    let sink = n - 1;
    let inf = Mad::MAX / 4;
    let mut cap = vec![vec![0 as Mad; n]; n];
    for (k, d) in demand.iter().enumerate() {
        cap[0][1 + k] = *d;
        for (f, funder) in scenario.funders.iter().enumerate() {
            if funder.may_pay(&cells[k].0, cells[k].1) {
                cap[1 + k][1 + nc + f] = inf;
            }
        }
    }
    for (f, funder) in scenario.funders.iter().enumerate() {
        cap[1 + nc + f][sink] = funder.amount;
    }
    let original = cap.clone();
    // Edmonds-Karp: shortest augmenting paths, neighbours in index order (deterministic).
    loop {
        let mut prev = vec![usize::MAX; n];
        prev[0] = 0;
        let mut queue = VecDeque::from([0usize]);
        while let Some(u) = queue.pop_front() {
            if u == sink {
                break;
            }
            for v in 0..n {
                if prev[v] == usize::MAX && cap[u][v] > 0 {
                    prev[v] = u;
                    queue.push_back(v);
                }
            }
        }
        if prev[sink] == usize::MAX {
            break;
        }
        let mut push = inf;
        let mut v = sink;
        while v != 0 {
            push = push.min(cap[prev[v]][v]);
            v = prev[v];
        }
        let mut v = sink;
        while v != 0 {
            cap[prev[v]][v] -= push;
            cap[v][prev[v]] += push;
            v = prev[v];
        }
    }
    // Flow from each funder into each cell.
    let mut flow = vec![vec![0 as Mad; nf]; nc];
    for (k, row) in flow.iter_mut().enumerate() {
        for (f, x) in row.iter_mut().enumerate() {
            let u = 1 + k;
            let v = 1 + nc + f;
            if original[u][v] > 0 {
                *x = original[u][v] - cap[u][v];
            }
        }
        let total: Mad = row.iter().sum();
        if total != demand[k] {
            return Err(Error::Internal(format!(
                "funders can pay only {total} of the {} MAD of {} in {}",
                demand[k], cells[k].1, cells[k].0
            )));
        }
    }
    // Split each cell's flow to its applicants in order, funders in scenario order.
    let mut next = vec![0usize; nc];
    let mut out = Vec::with_capacity(served.len());
    for ps in &parts_of {
        let mut pay: Vec<Part> = Vec::new();
        for &(k, amount) in ps {
            let mut left = amount;
            while left > 0 {
                let f = next[k];
                if f >= nf {
                    return Err(Error::Internal("funding split ran out of funders".into()));
                }
                let take = left.min(flow[k][f]);
                if take > 0 {
                    pay.push((f, cells[k].1, take));
                    flow[k][f] -= take;
                    left -= take;
                }
                if flow[k][f] == 0 {
                    next[k] += 1;
                }
            }
        }
        out.push(pay);
    }
    Ok(out)
}

/// Merges parts into (funder id, MAD) pairs in scenario funder order.
pub(crate) fn merge(scenario: &Scenario, parts: &[Part]) -> Vec<(String, Mad)> {
    let mut sum = vec![0 as Mad; scenario.funders.len()];
    for &(f, _, m) in parts {
        sum[f] += m;
    }
    sum.iter()
        .enumerate()
        .filter(|(_, &m)| m > 0)
        .map(|(f, &m)| (scenario.funders[f].id.clone(), m))
        .collect()
}
