//! The response context of a forking proxy (RFC 3261 §16.7 and §16.8), without I/O.
//!
//! One [`ResponseContext`] follows one proxied request across its branches: it decides which
//! responses go upstream, when the other branches are cancelled, and what Timer C does to a
//! branch that rings for too long. The caller owns the client transactions and the clock; it
//! feeds branch responses and timer expiries in and carries out the [`Action`]s that come out.

use crate::{ByteStr, Response};
use std::time::{Duration, Instant};

/// Timer C: how long an INVITE branch may go without a provisional response before it is given
/// up. RFC 3261 §16.6 step 11 asks for more than three minutes.
pub const TIMER_C: Duration = Duration::from_secs(181);

/// What goes upstream.
#[derive(Debug, Clone, PartialEq)]
pub enum Upstream {
    /// A branch's response, its own Via already removed.
    Relay(Response),
    /// A response the proxy makes itself for the original request.
    Local(u16, &'static str),
}

impl Upstream {
    pub fn status(&self) -> u16 {
        match self {
            Upstream::Relay(r) => r.status,
            Upstream::Local(s, _) => *s,
        }
    }
}

/// What the caller has to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this response through the server transaction.
    Send(Upstream),
    /// Send a CANCEL on this branch.
    Cancel(usize),
    /// Arm (or move) this branch's Timer C; call [`ResponseContext::on_timer`] when it fires.
    Arm(usize, Instant),
    /// This branch's Timer C is no longer needed.
    Disarm(usize),
    /// The branch is given up: its client transaction can be destroyed without waiting for it.
    Abandon(usize),
    /// Every branch failed while the context was held: the caller may add branches (the next
    /// group of a search) or [`ResponseContext::release`] it to send the best response.
    Exhausted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing heard yet.
    Calling,
    /// A provisional response came.
    Proceeding,
    /// Timer C fired and a CANCEL went out; a final response is still awaited.
    Cancelled,
    /// A final response came (or the branch was given up).
    Done,
}

#[derive(Debug, Clone)]
struct Branch {
    state: State,
    /// A CANCEL is owed as soon as a provisional response arrives (RFC 3261 §9.1).
    cancel_owed: bool,
    timer: Option<Instant>,
}

/// The branches of one proxied request and the best response gathered so far.
#[derive(Debug, Clone)]
pub struct ResponseContext {
    invite: bool,
    timer_c: Duration,
    /// How long a branch cancelled by Timer C may take to send its final response.
    cancel_wait: Duration,
    branches: Vec<Branch>,
    best: Option<Upstream>,
    /// A final response has gone upstream (after a 2xx, later 2xx still go up; nothing else).
    answered: bool,
    /// More branches may follow: when all fail, say so instead of answering.
    hold: bool,
}

/// Ranks final responses (§16.7 step 6): 6xx first, then the lowest class.
fn rank(status: u16) -> u16 {
    match status {
        600..=699 => 0,
        300..=399 => 1,
        400..=499 => 2,
        500..=599 => 3,
        _ => 4,
    }
}

impl ResponseContext {
    /// A context for a request forwarded to `branches` targets at `now`. `cancel_wait` is how
    /// long a branch has to answer a CANCEL sent by Timer C (64·T1 is the transaction layer's
    /// own patience).
    pub fn new(
        invite: bool,
        branches: usize,
        now: Instant,
        timer_c: Duration,
        cancel_wait: Duration,
    ) -> (Self, Vec<Action>) {
        let mut ctx = ResponseContext {
            invite,
            timer_c,
            cancel_wait,
            branches: vec![
                Branch {
                    state: State::Calling,
                    cancel_owed: false,
                    timer: None,
                };
                branches
            ],
            best: None,
            answered: false,
            hold: false,
        };
        let mut out = Vec::new();
        if invite {
            for i in 0..branches {
                out.push(ctx.arm(i, now + timer_c));
            }
        }
        (ctx, out)
    }

    /// How long branches added from now on may ring (a call policy's `proxy timeout`);
    /// branches already out keep their timer until their next provisional response.
    pub fn set_timer_c(&mut self, timer_c: Duration) {
        self.timer_c = timer_c;
    }

    /// Every branch has its final response.
    pub fn complete(&self) -> bool {
        self.branches.iter().all(|b| b.state == State::Done)
    }

    /// A final response has gone upstream.
    pub fn answered(&self) -> bool {
        self.answered
    }

    /// Branches still waiting for a final response.
    pub fn open_branches(&self) -> impl Iterator<Item = usize> + '_ {
        self.branches
            .iter()
            .enumerate()
            .filter(|(_, b)| b.state != State::Done)
            .map(|(i, _)| i)
    }

    fn arm(&mut self, i: usize, at: Instant) -> Action {
        self.branches[i].timer = Some(at);
        Action::Arm(i, at)
    }

    fn disarm(&mut self, i: usize, out: &mut Vec<Action>) {
        if self.branches[i].timer.take().is_some() {
            out.push(Action::Disarm(i));
        }
    }

    /// A response on branch `i` (the branch's Via already removed). Responses on branches that
    /// already have their final response are ignored, as the transaction layer would.
    pub fn on_response(&mut self, i: usize, resp: Response, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(b) = self.branches.get(i) else {
            return out;
        };
        if b.state == State::Done {
            // Only a retransmitted or late 2xx of an INVITE still matters: it belongs to a
            // dialog the caller must learn about (§16.7 step 5).
            if self.invite && (200..300).contains(&resp.status) {
                out.push(Action::Send(Upstream::Relay(resp)));
            }
            return out;
        }
        let status = resp.status;
        if status < 200 {
            let b = &mut self.branches[i];
            if b.state == State::Calling {
                b.state = State::Proceeding;
            }
            if std::mem::take(&mut b.cancel_owed) {
                out.push(Action::Cancel(i));
            }
            // §16.7 step 2: any provisional except 100 restarts Timer C.
            if self.invite && status > 100 && b.state == State::Proceeding {
                out.push(self.arm(i, now + self.timer_c));
            }
            if status > 100 && !self.answered {
                out.push(Action::Send(Upstream::Relay(resp)));
            }
            return out;
        }
        self.branches[i].state = State::Done;
        self.branches[i].cancel_owed = false;
        self.disarm(i, &mut out);
        if (200..300).contains(&status) {
            self.answered = true;
            out.push(Action::Send(Upstream::Relay(resp)));
            if self.invite {
                self.cancel_others(i, &mut out);
            }
            return out;
        }
        self.final_failure(i, Upstream::Relay(resp), &mut out);
        out
    }

    /// A non-2xx final response (or its local stand-in) on branch `i`, already marked done.
    fn final_failure(&mut self, i: usize, resp: Upstream, out: &mut Vec<Action>) {
        if self.answered {
            return;
        }
        let status = resp.status();
        if self
            .best
            .as_ref()
            .is_none_or(|b| rank(status) < rank(b.status()))
        {
            self.best = Some(resp);
        }
        if status >= 600 && self.invite {
            self.cancel_others(i, out);
        }
        if self.complete() {
            if self.hold {
                out.push(Action::Exhausted);
            } else {
                self.send_best(out);
            }
        }
    }

    fn send_best(&mut self, out: &mut Vec<Action>) {
        if let Some(mut best) = self.best.take() {
            // A 503 from downstream says that element is overloaded, not this one (§16.7
            // step 6), so it must not make the caller back off from us.
            if let Upstream::Relay(r) = &mut best {
                if r.status == 503 {
                    r.status = 500;
                    r.reason = ByteStr::from_static("Server Internal Error");
                }
            }
            self.answered = true;
            out.push(Action::Send(best));
        }
    }

    /// Holds the final answer back when every branch has failed, because more branches may
    /// follow (a search with lower-priority groups left).
    pub fn hold(&mut self) {
        self.hold = true;
    }

    /// No more branches will come: if every branch has already failed, the best response goes
    /// now; otherwise it goes when the last one fails.
    pub fn release(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        self.hold = false;
        if self.complete() && !self.answered {
            self.send_best(&mut out);
        }
        out
    }

    /// Forgets the failures gathered so far: a search found its callee, whose own answer
    /// matters more than the earlier targets' "not found".
    pub fn clear_best(&mut self) {
        self.best = None;
    }

    /// The status of the best failure so far.
    pub fn best_status(&self) -> Option<u16> {
        self.best.as_ref().map(Upstream::status)
    }

    /// Adds `n` branches (a later search group); returns the first new branch number and the
    /// Timer C actions for them.
    pub fn add_branches(&mut self, n: usize, now: Instant) -> (usize, Vec<Action>) {
        let first = self.branches.len();
        let mut out = Vec::new();
        for _ in 0..n {
            self.branches.push(Branch {
                state: State::Calling,
                cancel_owed: false,
                timer: None,
            });
        }
        if self.invite {
            for i in first..first + n {
                out.push(self.arm(i, now + self.timer_c));
            }
        }
        (first, out)
    }

    fn cancel_others(&mut self, except: usize, out: &mut Vec<Action>) {
        for j in 0..self.branches.len() {
            if j != except {
                self.cancel_branch(j, out);
            }
        }
    }

    /// CANCEL may only follow a provisional response (RFC 3261 §9.1); before one it is owed.
    fn cancel_branch(&mut self, j: usize, out: &mut Vec<Action>) {
        let b = &mut self.branches[j];
        match b.state {
            State::Calling => b.cancel_owed = true,
            State::Proceeding => out.push(Action::Cancel(j)),
            State::Cancelled | State::Done => {}
        }
    }

    /// The caller cancelled the request: every open INVITE branch is cancelled (§16.10).
    pub fn on_cancel(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        if self.invite {
            for j in 0..self.branches.len() {
                self.cancel_branch(j, &mut out);
            }
        }
        out
    }

    /// Branch `i`'s Timer C fired at `now`. A timer that was moved or cleared since it was armed
    /// is ignored, so the caller need not remove stale entries.
    pub fn on_timer(&mut self, i: usize, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(b) = self.branches.get(i) else {
            return out;
        };
        if b.timer.is_none_or(|at| at > now) {
            return out;
        }
        self.branches[i].timer = None;
        match self.branches[i].state {
            // §16.8: a branch that rang too long is cancelled and gets a while to answer that.
            State::Proceeding => {
                self.branches[i].state = State::Cancelled;
                out.push(Action::Cancel(i));
                out.push(self.arm(i, now + self.cancel_wait));
            }
            // §16.8: no provisional at all counts as a 408; so does a cancelled branch that
            // never sent its final response.
            State::Calling | State::Cancelled => {
                self.branches[i].state = State::Done;
                self.branches[i].cancel_owed = false;
                out.push(Action::Abandon(i));
                self.final_failure(i, Upstream::Local(408, "Request Timeout"), &mut out);
            }
            State::Done => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Message, Request};

    fn resp(status: u16) -> Response {
        let raw =
            "INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
             From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c\r\n\
             CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
        let Message::Request(req) = crate::parse_message(raw.as_bytes()).unwrap() else {
            panic!()
        };
        Response::for_request(&req as &Request, status, "x")
    }

    const C: Duration = TIMER_C;
    const W: Duration = Duration::from_secs(32);

    fn statuses(actions: &[Action]) -> Vec<u16> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Send(u) => Some(u.status()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn invite_arms_timer_c_on_every_branch() {
        let t0 = Instant::now();
        let (_, out) = ResponseContext::new(true, 2, t0, C, W);
        assert_eq!(out, vec![Action::Arm(0, t0 + C), Action::Arm(1, t0 + C)]);
        let (_, out) = ResponseContext::new(false, 2, t0, C, W);
        assert!(out.is_empty());
    }

    #[test]
    fn ringing_restarts_timer_c_and_expiry_cancels_then_gives_up() {
        let t0 = Instant::now();
        let (mut ctx, _) = ResponseContext::new(true, 1, t0, C, W);
        let t1 = t0 + Duration::from_secs(100);
        let out = ctx.on_response(0, resp(180), t1);
        assert!(out.contains(&Action::Arm(0, t1 + C)));
        assert_eq!(statuses(&out), vec![180]);
        // The first arming is stale now.
        assert!(ctx.on_timer(0, t0 + C).is_empty());
        let out = ctx.on_timer(0, t1 + C);
        assert_eq!(out, vec![Action::Cancel(0), Action::Arm(0, t1 + C + W)]);
        // The callee never sends its 487: the branch counts as a 408 and the caller hears it.
        let out = ctx.on_timer(0, t1 + C + W);
        assert!(out.contains(&Action::Abandon(0)));
        assert_eq!(statuses(&out), vec![408]);
        assert!(ctx.complete() && ctx.answered());
    }

    #[test]
    fn cancelled_branch_that_answers_487_is_relayed() {
        let t0 = Instant::now();
        let (mut ctx, _) = ResponseContext::new(true, 1, t0, C, W);
        ctx.on_response(0, resp(183), t0);
        ctx.on_timer(0, t0 + C);
        let out = ctx.on_response(0, resp(487), t0 + C + Duration::from_secs(1));
        assert_eq!(out[0], Action::Disarm(0));
        assert_eq!(statuses(&out), vec![487]);
    }

    #[test]
    fn timer_c_without_provisional_is_a_408() {
        let t0 = Instant::now();
        let (mut ctx, _) = ResponseContext::new(true, 2, t0, C, W);
        ctx.on_response(1, resp(486), t0);
        let out = ctx.on_timer(0, t0 + C);
        assert_eq!(out[0], Action::Abandon(0));
        // 408 and 486 are both 4xx: the first one kept wins.
        assert_eq!(statuses(&out), vec![486]);
    }

    #[test]
    fn trying_does_not_restart_timer_c_nor_go_upstream() {
        let t0 = Instant::now();
        let (mut ctx, _) = ResponseContext::new(true, 1, t0, C, W);
        let out = ctx.on_response(0, resp(100), t0 + Duration::from_secs(5));
        assert!(out.is_empty());
        assert_eq!(
            ctx.on_timer(0, t0 + C),
            vec![Action::Cancel(0), Action::Arm(0, t0 + C + W)]
        );
    }

    #[test]
    fn two_hundred_cancels_ringing_branches_and_owes_cancel_to_silent_ones() {
        let t0 = Instant::now();
        let (mut ctx, _) = ResponseContext::new(true, 3, t0, C, W);
        ctx.on_response(1, resp(180), t0);
        let out = ctx.on_response(0, resp(200), t0);
        assert_eq!(statuses(&out), vec![200]);
        assert!(out.contains(&Action::Cancel(1)));
        assert!(!out.contains(&Action::Cancel(2)));
        // Branch 2 rings later: now its CANCEL goes, and its 180 stays here.
        let out = ctx.on_response(2, resp(180), t0);
        assert!(out.contains(&Action::Cancel(2)));
        assert!(statuses(&out).is_empty());
        // The cancelled branches' 487s stay here too.
        assert!(statuses(&ctx.on_response(1, resp(487), t0)).is_empty());
        assert!(statuses(&ctx.on_response(2, resp(487), t0)).is_empty());
        assert!(ctx.complete());
    }

    #[test]
    fn best_response_waits_for_every_branch() {
        let t0 = Instant::now();
        let (mut ctx, _) = ResponseContext::new(true, 3, t0, C, W);
        assert!(statuses(&ctx.on_response(0, resp(503), t0)).is_empty());
        assert!(statuses(&ctx.on_response(1, resp(404), t0)).is_empty());
        let out = ctx.on_response(2, resp(302), t0);
        assert_eq!(statuses(&out), vec![302]);
    }

    #[test]
    fn a_503_goes_upstream_as_500() {
        let t0 = Instant::now();
        let (mut ctx, _) = ResponseContext::new(false, 1, t0, C, W);
        let out = ctx.on_response(0, resp(503), t0);
        assert_eq!(statuses(&out), vec![500]);
    }

    #[test]
    fn six_hundred_cancels_the_rest_and_wins() {
        let t0 = Instant::now();
        let (mut ctx, _) = ResponseContext::new(true, 2, t0, C, W);
        ctx.on_response(1, resp(180), t0);
        let out = ctx.on_response(0, resp(603), t0);
        assert!(out.contains(&Action::Cancel(1)));
        assert!(statuses(&out).is_empty());
        let out = ctx.on_response(1, resp(487), t0);
        assert_eq!(statuses(&out), vec![603]);
    }

    #[test]
    fn late_2xx_after_a_2xx_still_goes_up_but_failures_do_not() {
        let t0 = Instant::now();
        let (mut ctx, _) = ResponseContext::new(true, 2, t0, C, W);
        ctx.on_response(0, resp(180), t0);
        ctx.on_response(1, resp(180), t0);
        assert_eq!(statuses(&ctx.on_response(0, resp(200), t0)), vec![200]);
        assert_eq!(statuses(&ctx.on_response(1, resp(200), t0)), vec![200]);
        assert_eq!(statuses(&ctx.on_response(1, resp(200), t0)), vec![200]);
        let (mut ctx, _) = ResponseContext::new(true, 2, t0, C, W);
        ctx.on_response(0, resp(200), t0);
        assert!(statuses(&ctx.on_response(1, resp(486), t0)).is_empty());
    }

    #[test]
    fn upstream_cancel_cancels_ringing_branches_only_after_provisional() {
        let t0 = Instant::now();
        let (mut ctx, _) = ResponseContext::new(true, 2, t0, C, W);
        ctx.on_response(0, resp(180), t0);
        assert_eq!(ctx.on_cancel(), vec![Action::Cancel(0)]);
        assert_eq!(
            ctx.on_response(1, resp(183), t0)
                .into_iter()
                .filter(|a| matches!(a, Action::Cancel(_)))
                .collect::<Vec<_>>(),
            vec![Action::Cancel(1)]
        );
    }

    #[test]
    fn a_held_context_waits_for_more_branches_and_keeps_the_best_across_them() {
        let t0 = Instant::now();
        let (mut ctx, _) = ResponseContext::new(true, 1, t0, C, W);
        ctx.hold();
        let out = ctx.on_response(0, resp(404), t0);
        assert_eq!(out, vec![Action::Disarm(0), Action::Exhausted]);
        let (first, arm) = ctx.add_branches(2, t0);
        assert_eq!(first, 1);
        assert_eq!(arm, vec![Action::Arm(1, t0 + C), Action::Arm(2, t0 + C)]);
        assert!(!ctx.complete());
        ctx.on_response(1, resp(480), t0);
        assert_eq!(
            ctx.on_response(2, resp(503), t0),
            vec![Action::Disarm(2), Action::Exhausted]
        );
        // Released, the best of all three goes: 404 and 480 are both 4xx, the first kept.
        assert_eq!(statuses(&ctx.release()), vec![404]);
        assert!(ctx.release().is_empty());
    }

    #[test]
    fn releasing_before_the_last_failure_answers_at_that_failure() {
        let t0 = Instant::now();
        let (mut ctx, _) = ResponseContext::new(false, 2, t0, C, W);
        ctx.hold();
        ctx.on_response(0, resp(404), t0);
        assert!(ctx.release().is_empty());
        assert_eq!(statuses(&ctx.on_response(1, resp(486), t0)), vec![404]);
    }

    #[test]
    fn provisional_after_final_is_not_relayed() {
        let t0 = Instant::now();
        let (mut ctx, _) = ResponseContext::new(true, 2, t0, C, W);
        ctx.on_response(0, resp(200), t0);
        assert!(statuses(&ctx.on_response(1, resp(180), t0)).is_empty());
    }
}
