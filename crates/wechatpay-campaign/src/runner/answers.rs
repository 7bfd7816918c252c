//! What the run does with each answer: the journal update, the pacing, the
//! row's next step, and for a refusal about the caller acting for a brand, that
//! brand's gate ([`super::gate`]).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::gate::Verdict;
use super::lane::Branded;
use super::{Done, Entry, FollowEntry, Run, RunEnd};
use crate::control::Event;
use crate::follow_up::StepOutcome;
use crate::journal::{now_ms, FollowUpUpdate, Update};
use crate::outcome::Outcome;

impl Run<'_> {
    pub(super) fn stop(&mut self, row: u64, code: String, message: String) {
        if self.end.is_none() {
            self.end = Some(RunEnd::Stopped { row, code, message });
        }
    }

    fn throttled(&mut self) {
        self.progress.throttled += 1;
        self.control.count(Event::Throttled);
    }

    pub(super) fn row_done(&mut self, succeeded: bool) {
        self.progress.completed += 1;
        self.control.count(if succeeded {
            Event::Succeeded
        } else {
            Event::Failed
        });
    }

    pub(super) fn on_done(&mut self, done: Done) {
        match done {
            Done::Row {
                entry,
                sent_at,
                latency,
                outcome,
            } => self.on_row(entry, sent_at, latency, outcome),
            Done::FollowUp {
                entry,
                sent_at,
                latency,
                outcome,
            } => self.on_follow_up(entry, sent_at, latency, outcome),
        }
    }

    /// A probe's answer that says nothing about its brand: probe again later.
    fn inconclusive(&mut self, brand: &str, probe: bool, now: Instant) {
        if probe {
            self.gates.probe_inconclusive(brand, now);
        }
    }

    /// An answer that is no refusal about the caller: the brand works (and a
    /// probe's opens it: its held work goes out again, same numbers).
    fn worked(&mut self, brand: &str, probe: bool, now: Instant) {
        if !self.gates.worked(brand, probe) {
            return;
        }
        for (entry, _, _) in self.rows.take_held(brand) {
            self.rows.wait(now, entry);
        }
        if let Some(follow) = self.follow.as_mut() {
            for (entry, _, _) in follow.lane.take_held(brand) {
                follow.lane.wait(now, entry);
            }
        }
    }

    fn on_row(&mut self, mut entry: Entry, sent_at: Instant, latency: Duration, outcome: Outcome) {
        self.rows.in_flight -= 1;
        let now = Instant::now();
        let brand = entry.claimed.brand.clone();
        let probe = std::mem::take(&mut entry.probe);
        self.rows.pacing.answered(&brand, latency);
        let row = entry.claimed.row;
        match outcome {
            Outcome::Succeeded {
                result,
                note,
                follow_ups,
            } => {
                self.worked(&brand, probe, now);
                self.progress.sent += 1;
                self.progress.last_send_at = Some(now_ms());
                match follow_ups {
                    Ok(follow_ups) => {
                        if follow_ups.is_empty() {
                            self.row_done(true);
                        } else if let Some(follow) = self.follow.as_mut() {
                            follow.open.insert(row, follow_ups.len() as u32);
                            for f in &follow_ups {
                                follow.recorded.insert(f.brand.clone());
                                follow.lane.queue(&f.brand).exhausted = false;
                            }
                        }
                        self.writer.update(Update::Succeeded {
                            row,
                            result,
                            note,
                            follow_ups,
                        });
                    }
                    Err(reason) => {
                        // It took effect, but what it issued cannot be followed up.
                        self.writer.update(Update::Succeeded {
                            row,
                            result,
                            note,
                            follow_ups: Vec::new(),
                        });
                        self.writer.update(Update::Failed {
                            row,
                            code: "FOLLOW_UP_UNBUILDABLE".into(),
                            message: format!("sent, but its follow-up cannot be built: {reason}"),
                        });
                        self.row_done(false);
                    }
                }
            }
            Outcome::Failed { code, message } => {
                self.worked(&brand, probe, now);
                self.row_done(false);
                self.writer.update(Update::Failed { row, code, message });
            }
            Outcome::Retry {
                code,
                message,
                throttled,
            } => {
                self.inconclusive(&brand, probe, now);
                if throttled {
                    self.throttled();
                    self.rows.pacing.throttled(&brand, sent_at, now);
                    self.shared.throttled.insert(brand.clone());
                }
                match entry.tries.again(throttled, self.options) {
                    None => {
                        self.control.count(Event::Unresolved);
                        self.writer
                            .update(Update::Unresolved { row, code, message });
                    }
                    Some(wait) => {
                        self.control.count(Event::Retry);
                        self.writer.update(Update::Retrying { row, code, message });
                        self.rows.wait(now + wait, entry);
                    }
                }
            }
            Outcome::BrandRefused { code, message } => {
                match self.gates.refused(&brand, probe, &code, &message, now) {
                    Verdict::Hold => {
                        self.writer.update(Update::Retrying {
                            row,
                            code: code.clone(),
                            message: message.clone(),
                        });
                        self.rows.hold(entry, code, message);
                    }
                    Verdict::Close => {
                        self.row_done(false);
                        self.writer.update(Update::Failed { row, code, message });
                        self.close_brand(&brand);
                    }
                    Verdict::Stop => self.stop_on_row(entry, code, message),
                }
            }
            Outcome::Stop { code, message } => self.stop_on_row(entry, code, message),
        }
    }

    /// The campaign stops: the row stays pending for the next run.
    fn stop_on_row(&mut self, entry: Entry, code: String, message: String) {
        let row = entry.claimed.row;
        self.writer.update(Update::Unresolved {
            row,
            code: code.clone(),
            message: message.clone(),
        });
        self.stop(row, code, message);
    }

    /// A brand refused for good: what was held fails with its own refusal; fresh
    /// rows never sent fail unsent (those that may have been sent go out once
    /// more: their own answer decides, see `next_row`).
    fn close_brand(&mut self, brand: &str) {
        for (entry, code, message) in self.rows.take_held(brand) {
            self.row_done(false);
            self.writer.update(Update::Failed {
                row: entry.claimed.row,
                code,
                message,
            });
        }
        let unsent: Vec<_> = {
            let queue = self.rows.queue(brand);
            let (unsent, kept): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut queue.fresh)
                .into_iter()
                .partition(|c| !c.maybe_sent);
            queue.fresh = kept;
            unsent.into()
        };
        for claimed in unsent {
            self.fail_unsent(claimed.row, brand);
        }
        let Some(follow) = self.follow.as_mut() else {
            return;
        };
        let held = follow.lane.take_held(brand);
        for (entry, code, message) in held {
            self.fail_follow_up(&entry, FollowUpUpdate::Failed { code, message });
        }
    }

    /// Fails a row of a closed brand that never went out.
    pub(super) fn fail_unsent(&mut self, row: u64, brand: &str) {
        let Some(refusal) = self.gates.closed(brand) else {
            return;
        };
        let (code, message) = (
            refusal.code.clone(),
            format!(
                "not sent: brand {brand} refused this caller on every re-check: {}",
                refusal.message
            ),
        );
        self.row_done(false);
        self.writer.update(Update::NotSent { row, code, message });
    }

    fn fail_follow_up(&mut self, entry: &FollowEntry, update: FollowUpUpdate) {
        let (row, item) = (entry.claimed.row, entry.claimed.item);
        let Some(follow) = self.follow.as_mut() else {
            return;
        };
        follow.open.remove(&row);
        let declared = Some(follow.follow_up);
        self.writer.update(Update::FollowUp {
            row,
            item,
            update,
            declared,
        });
        self.row_done(false);
    }

    fn on_follow_up(
        &mut self,
        mut entry: FollowEntry,
        sent_at: Instant,
        latency: Duration,
        outcome: StepOutcome,
    ) {
        let now = Instant::now();
        let brand = entry.brand().to_owned();
        let probe = std::mem::take(&mut entry.probe);
        match &outcome {
            StepOutcome::Done { .. } | StepOutcome::Failed { .. } | StepOutcome::Waiting { .. } => {
                self.worked(&brand, probe, now)
            }
            StepOutcome::Retry { .. } => self.inconclusive(&brand, probe, now),
            StepOutcome::BrandRefused { .. } | StepOutcome::Stop { .. } => {}
        }
        let Some(follow) = self.follow.as_mut() else {
            return;
        };
        follow.lane.in_flight -= 1;
        follow.lane.pacing.answered(&brand, latency);
        let (row, item) = (entry.claimed.row, entry.claimed.item);
        let declared = Some(follow.follow_up);
        let update = |update| Update::FollowUp {
            row,
            item,
            update,
            declared,
        };
        match outcome {
            StepOutcome::Done { result, note } => {
                self.progress.follow_ups += 1;
                self.control.count(Event::FollowedUp);
                self.writer
                    .update(update(FollowUpUpdate::Done { result, note }));
                let left = follow.open.get_mut(&row).map(|n| {
                    *n = n.saturating_sub(1);
                    *n
                });
                if left == Some(0) {
                    follow.open.remove(&row);
                    self.row_done(true);
                }
            }
            StepOutcome::Failed { code, message } => {
                self.fail_follow_up(&entry, FollowUpUpdate::Failed { code, message });
            }
            StepOutcome::Waiting { code, message } => {
                entry.waits += 1;
                if entry.waits >= self.options.max_waits {
                    self.control.count(Event::Unresolved);
                    follow.given_up.push((row, item));
                    self.writer
                        .update(update(FollowUpUpdate::Unresolved { code, message }));
                } else {
                    self.control.count(Event::Retry);
                    self.writer
                        .update(update(FollowUpUpdate::Retrying { code, message }));
                    let at = now + self.options.wait_backoff(entry.waits);
                    follow.lane.wait(at, entry);
                }
            }
            StepOutcome::Retry {
                code,
                message,
                throttled,
            } => {
                if throttled {
                    follow.lane.pacing.throttled(&brand, sent_at, now);
                    self.shared.throttled_follow_ups.insert(brand.clone());
                    self.throttled();
                }
                let Some(follow) = self.follow.as_mut() else {
                    return;
                };
                match entry.tries.again(throttled, self.options) {
                    None => {
                        self.control.count(Event::Unresolved);
                        follow.given_up.push((row, item));
                        self.writer
                            .update(update(FollowUpUpdate::Unresolved { code, message }));
                    }
                    Some(wait) => {
                        self.control.count(Event::Retry);
                        self.writer
                            .update(update(FollowUpUpdate::Retrying { code, message }));
                        follow.lane.wait(now + wait, entry);
                    }
                }
            }
            StepOutcome::BrandRefused { code, message } => {
                match self.gates.refused(&brand, probe, &code, &message, now) {
                    Verdict::Hold => {
                        self.writer.update(update(FollowUpUpdate::Retrying {
                            code: code.clone(),
                            message: message.clone(),
                        }));
                        follow.lane.hold(entry, code, message);
                    }
                    Verdict::Close => {
                        self.fail_follow_up(&entry, FollowUpUpdate::Failed { code, message });
                        self.close_brand(&brand);
                    }
                    Verdict::Stop => {
                        follow.given_up.push((row, item));
                        self.writer.update(update(FollowUpUpdate::Unresolved {
                            code: code.clone(),
                            message: message.clone(),
                        }));
                        self.stop(row, code, message);
                    }
                }
            }
            StepOutcome::Stop { code, message } => {
                follow.given_up.push((row, item));
                self.writer.update(update(FollowUpUpdate::Unresolved {
                    code: code.clone(),
                    message: message.clone(),
                }));
                self.stop(row, code, message);
            }
        }
    }
}
