//! Are the snapshots of one process, oldest first?
//!
//! V8 gives each object an id the first time a snapshot sees it and keeps it for the object's
//! life; ids grow within one process (JS objects have odd ids). So along one process, in
//! order: the highest JS id never decreases, and an id present in two snapshots names the same
//! object, whose type and name do not change. Two processes (even of the same program) share
//! ids for their startup objects but soon disagree on what an id names; snapshots given in
//! reverse order show a decreasing highest id.

use crate::summary::SnapshotSummary;
use crate::FindError;

/// Share of common sampled ids whose type and name must agree for one process.
const SAME_OBJECT_MIN: f64 = 0.95;

/// Checks consecutive snapshots `a` (older) and `b`.
pub fn check_pair(a: &SnapshotSummary, b: &SnapshotSummary) -> Result<(), FindError> {
    if b.info.max_js_id < a.info.max_js_id {
        return Err(FindError::WrongOrder(format!(
            "{} was taken before {} (highest object id {} > {}): give the snapshots oldest first",
            b.info.path, a.info.path, a.info.max_js_id, b.info.max_js_id
        )));
    }
    // Fingerprints of ids sampled in both.
    let (mut i, mut j) = (0, 0);
    let (mut common, mut same) = (0u64, 0u64);
    let (fa, fb) = (&a.fingerprints, &b.fingerprints);
    while i < fa.len() && j < fb.len() {
        match fa[i].0.cmp(&fb[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                if fa[i].1 == fb[j].1 {
                    same += 1;
                }
                i += 1;
                j += 1;
            }
        }
    }
    let sampled = fa.len().max(1) as f64;
    let survived = common as f64 / sampled;
    let agree = if common == 0 {
        0.0
    } else {
        same as f64 / common as f64
    };
    if common == 0 || agree < SAME_OBJECT_MIN {
        return Err(FindError::NotOneProcess(format!(
            "{} and {} are not snapshots of one process: {:.0}% of the objects they share by id \
             differ in type or name (a process keeps an object's id for its life)",
            a.info.path,
            b.info.path,
            (1.0 - agree) * 100.0
        )));
    }
    if survived < 0.2 {
        return Err(FindError::NotOneProcess(format!(
            "{} and {} are not snapshots of one process: only {:.0}% of the objects of the first \
             are in the second",
            a.info.path,
            b.info.path,
            survived * 100.0
        )));
    }
    // Both must keep the same root layout.
    if !a.global_ids.is_empty()
        && !b.global_ids.is_empty()
        && !a.global_ids.iter().any(|g| b.global_ids.contains(g))
    {
        return Err(FindError::NotOneProcess(format!(
            "{} and {} are not snapshots of one process: their global objects differ",
            a.info.path, b.info.path
        )));
    }
    Ok(())
}

/// Checks every consecutive pair.
pub fn check(summaries: &[SnapshotSummary]) -> Result<(), FindError> {
    if summaries.len() < 2 {
        return Err(FindError::TooFew(summaries.len()));
    }
    for w in summaries.windows(2) {
        check_pair(&w[0], &w[1])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SnapshotInfo;

    fn summary(path: &str, max: u32, fps: &[(u32, u32)]) -> SnapshotSummary {
        SnapshotSummary {
            info: SnapshotInfo {
                path: path.into(),
                file_size: 0,
                node_count: fps.len() as u64,
                edge_count: 0,
                max_js_id: max,
                total_size: 0,
            },
            fingerprints: fps.to_vec(),
            global_ids: vec![7],
            ..Default::default()
        }
    }

    #[test]
    fn same_process_in_order_passes() {
        let a = summary("a", 100, &[(1, 10), (33, 11), (65, 12)]);
        let b = summary("b", 200, &[(1, 10), (33, 11), (65, 12), (129, 13)]);
        check(&[a, b]).unwrap();
    }

    #[test]
    fn reversed_order_is_refused() {
        let a = summary("a", 100, &[(1, 10), (33, 11)]);
        let b = summary("b", 200, &[(1, 10), (33, 11), (129, 13)]);
        let err = check(&[b, a]).unwrap_err();
        assert!(matches!(err, FindError::WrongOrder(_)), "{err}");
        assert!(err.to_string().contains("oldest first"));
    }

    #[test]
    fn ids_naming_other_objects_mean_another_process() {
        let a = summary("a", 100, &[(1, 10), (33, 11), (65, 12), (97, 14)]);
        let b = summary("b", 200, &[(1, 10), (33, 99), (65, 98), (97, 97)]);
        let err = check(&[a, b]).unwrap_err();
        assert!(matches!(err, FindError::NotOneProcess(_)), "{err}");
    }
}
