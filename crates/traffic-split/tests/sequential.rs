//! A/A experiments under repeated peeking: the sequential test keeps its
//! false-positive rate at or below α; the naive fixed-horizon test does not.
//! `cargo test -p traffic-split --release --test sequential -- --nocapture`
//! prints both rates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use traffic_split::stats::{Msprt, two_proportion_z};

mod common;
use common::XorShift;

#[test]
fn sequential_test_controls_false_positives_under_peeking() {
    const EXPERIMENTS: usize = 2_000;
    const LOOKS: usize = 20;
    const PER_LOOK: u64 = 250; // per arm
    const RATE: f64 = 0.1;
    const ALPHA: f64 = 0.05;
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut naive_fp, mut seq_fp) = (0, 0);
    for _ in 0..EXPERIMENTS {
        let (mut xc, mut xt, mut n) = (0u64, 0u64, 0u64);
        let mut test = Msprt::new(0.02);
        let (mut naive_hit, mut seq_hit) = (false, false);
        for _ in 0..LOOKS {
            for _ in 0..PER_LOOK {
                xc += u64::from(rng.next_f64() < RATE);
                xt += u64::from(rng.next_f64() < RATE);
            }
            n += PER_LOOK;
            if two_proportion_z(xc, n, xt, n).is_some_and(|r| r.p_value < ALPHA) {
                naive_hit = true;
            }
            if test.update(xc, n, xt, n) < ALPHA {
                seq_hit = true;
            }
        }
        naive_fp += usize::from(naive_hit);
        seq_fp += usize::from(seq_hit);
    }
    let naive = naive_fp as f64 / EXPERIMENTS as f64;
    let seq = seq_fp as f64 / EXPERIMENTS as f64;
    println!(
        "A/A, {EXPERIMENTS} experiments x {LOOKS} looks: naive fixed-horizon FPR {:.1}%, mSPRT FPR {:.1}% (alpha {:.0}%)",
        naive * 100.0,
        seq * 100.0,
        ALPHA * 100.0
    );
    assert!(seq <= ALPHA, "sequential false-positive rate {seq}");
    assert!(
        naive > ALPHA,
        "peeking should inflate the naive test ({naive}); otherwise this test shows nothing"
    );
}
