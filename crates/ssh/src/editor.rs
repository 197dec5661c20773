//! The interactive line editor, as a pure state machine.
//!
//! Bytes typed at the terminal go in, the bytes to echo and, now and then, a finished line (or
//! another event) come out. Nothing here touches a channel or a clock, so every key sequence can
//! be tested by feeding bytes and looking at what comes back.
//!
//! The editor stops at each event and reports how much input it used: whatever the operator typed
//! ahead while the line runs is echoed only after that line's output, as on any terminal.

use std::collections::VecDeque;

/// The longest line, in bytes of UTF-8, that the editor keeps. Longer input is not a command
/// anyone types; it is refused as a whole rather than run cut short.
pub const MAX_LINE: usize = 64 * 1024;

/// How many lines the up arrow reaches back.
pub const HISTORY: usize = 100;

/// The most parameter bytes of an escape sequence kept; longer ones are noise, not keys.
const MAX_SEQUENCE: usize = 16;

/// What a finished piece of input asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Enter: run this line.
    Line(String),
    /// Ctrl-C: the line was thrown away.
    Cancel,
    /// Ctrl-D on an empty line: log out.
    Logout,
    /// Enter on a line that outgrew [`MAX_LINE`]; it was thrown away.
    TooLong,
}

/// Where the decoder is inside a multi-byte key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Keys {
    Ground,
    /// After ESC.
    Escape,
    /// After `ESC [`: parameter and intermediate bytes so far.
    Csi(Vec<u8>),
    /// After `ESC O` (what terminals in application-cursor mode send for arrows).
    Ss3,
    /// Inside a UTF-8 sequence: the bytes so far and how many it needs in all.
    Utf8(Vec<u8>, usize),
}

/// One terminal's line editor.
#[derive(Debug, Clone)]
pub struct Editor {
    prompt: String,
    line: Vec<char>,
    /// The cursor, as an index into `line`.
    cursor: usize,
    /// UTF-8 length of `line`, kept rather than recounted on every key.
    bytes: usize,
    /// The line grew past [`MAX_LINE`]; Enter refuses it.
    overflow: bool,
    keys: Keys,
    /// The previous byte was CR, so an LF right after it ends nothing (CRLF is one Enter).
    after_cr: bool,
    /// Oldest first.
    history: VecDeque<String>,
    /// The history entry on show, while browsing.
    browsing: Option<usize>,
    /// What was typed before browsing began, given back by moving down past the newest entry.
    draft: Vec<char>,
}

impl Editor {
    pub fn new(prompt: &str) -> Editor {
        Editor {
            prompt: prompt.to_string(),
            line: Vec::new(),
            cursor: 0,
            bytes: 0,
            overflow: false,
            keys: Keys::Ground,
            after_cr: false,
            history: VecDeque::new(),
            browsing: None,
            draft: Vec::new(),
        }
    }

    pub fn prompt(&self) -> &str {
        &self.prompt
    }

    /// The line being edited.
    pub fn current(&self) -> String {
        self.line.iter().collect()
    }

    /// The lines run so far, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &str> {
        self.history.iter().map(String::as_str)
    }

    /// Reads `input` up to and including the first key that finishes something, appending what
    /// the terminal should show to `echo`. Returns how many bytes were used and the event, if
    /// one came; call again with the rest.
    pub fn feed(&mut self, input: &[u8], echo: &mut Vec<u8>) -> (usize, Option<Event>) {
        for (i, &b) in input.iter().enumerate() {
            if let Some(ev) = self.byte(b, echo) {
                return (i + 1, Some(ev));
            }
        }
        (input.len(), None)
    }

    fn byte(&mut self, b: u8, echo: &mut Vec<u8>) -> Option<Event> {
        match std::mem::replace(&mut self.keys, Keys::Ground) {
            Keys::Ground => self.ground(b, echo),
            Keys::Escape => {
                match b {
                    b'[' => self.keys = Keys::Csi(Vec::new()),
                    b'O' => self.keys = Keys::Ss3,
                    0x1b => self.keys = Keys::Escape,
                    // Alt plus a key: the key is dropped with it rather than inserted unasked.
                    0x20..=0x7e => {}
                    // A control key after a lone ESC still counts (Enter, Ctrl-C).
                    _ => return self.ground(b, echo),
                }
                None
            }
            Keys::Ss3 => {
                self.final_key(b, &[], echo);
                None
            }
            Keys::Csi(mut params) => {
                match b {
                    0x40..=0x7e => self.final_key(b, &params, echo),
                    0x20..=0x3f => {
                        // Past the cap the bytes are still swallowed, just not kept.
                        if params.len() < MAX_SEQUENCE {
                            params.push(b);
                        }
                        self.keys = Keys::Csi(params);
                    }
                    // A control byte ends the sequence and takes effect, as on a terminal.
                    _ => return self.ground(b, echo),
                }
                None
            }
            Keys::Utf8(mut partial, need) => {
                if b & 0xc0 != 0x80 {
                    // A broken sequence: drop it and read this byte afresh.
                    return self.ground(b, echo);
                }
                partial.push(b);
                if partial.len() < need {
                    self.keys = Keys::Utf8(partial, need);
                    return None;
                }
                if let Some(c) = std::str::from_utf8(&partial)
                    .ok()
                    .and_then(|s| s.chars().next())
                {
                    if !c.is_control() {
                        self.insert(c, echo);
                    }
                }
                None
            }
        }
    }

    fn ground(&mut self, b: u8, echo: &mut Vec<u8>) -> Option<Event> {
        let after_cr = std::mem::replace(&mut self.after_cr, false);
        match b {
            b'\r' => {
                self.after_cr = true;
                return Some(self.enter(echo));
            }
            b'\n' if after_cr => {}
            b'\n' => return Some(self.enter(echo)),
            0x03 => {
                echo.extend_from_slice(b"^C\r\n");
                self.reset();
                return Some(Event::Cancel);
            }
            0x04 if self.line.is_empty() => {
                echo.extend_from_slice(b"\r\n");
                self.reset();
                return Some(Event::Logout);
            }
            0x04 => self.delete(echo),
            0x7f | 0x08 => self.backspace(echo),
            0x15 => self.kill_to_start(echo),
            0x0b => self.kill_to_end(echo),
            0x01 => self.home(echo),
            0x05 => self.end(echo),
            0x02 => self.left(echo),
            0x06 => self.right(echo),
            0x10 => self.up(echo),
            0x0e => self.down(echo),
            0x1b => self.keys = Keys::Escape,
            0x20..=0x7e => self.insert(b as char, echo),
            0xc2..=0xdf => self.keys = Keys::Utf8(vec![b], 2),
            0xe0..=0xef => self.keys = Keys::Utf8(vec![b], 3),
            0xf0..=0xf4 => self.keys = Keys::Utf8(vec![b], 4),
            // Tab, bell and the other controls, and bytes that never start UTF-8.
            _ => {}
        }
        None
    }

    /// The last byte of an escape sequence.
    fn final_key(&mut self, b: u8, params: &[u8], echo: &mut Vec<u8>) {
        match (b, params) {
            (b'A', _) => self.up(echo),
            (b'B', _) => self.down(echo),
            (b'C', _) => self.right(echo),
            (b'D', _) => self.left(echo),
            (b'H', _) | (b'~', b"1") | (b'~', b"7") => self.home(echo),
            (b'F', _) | (b'~', b"4") | (b'~', b"8") => self.end(echo),
            (b'~', b"3") => self.delete(echo),
            _ => {}
        }
    }

    fn enter(&mut self, echo: &mut Vec<u8>) -> Event {
        echo.extend_from_slice(b"\r\n");
        let overflow = self.overflow;
        let line = self.current();
        self.reset();
        if overflow {
            return Event::TooLong;
        }
        if !line.trim().is_empty() && self.history.back() != Some(&line) {
            if self.history.len() == HISTORY {
                self.history.pop_front();
            }
            self.history.push_back(line.clone());
        }
        Event::Line(line)
    }

    /// Starts an empty line (after Enter, Ctrl-C or Ctrl-D).
    fn reset(&mut self) {
        self.line.clear();
        self.cursor = 0;
        self.bytes = 0;
        self.overflow = false;
        self.browsing = None;
        self.draft.clear();
    }

    fn insert(&mut self, c: char, echo: &mut Vec<u8>) {
        if self.bytes + c.len_utf8() > MAX_LINE {
            if !self.overflow {
                echo.push(0x07);
            }
            self.overflow = true;
            return;
        }
        self.line.insert(self.cursor, c);
        self.bytes += c.len_utf8();
        self.cursor += 1;
        let mut s = [0u8; 4];
        echo.extend_from_slice(c.encode_utf8(&mut s).as_bytes());
        if self.cursor < self.line.len() {
            // In the middle: shift the rest of the line along and come back.
            let tail = self.line.len() - self.cursor;
            self.write_from(self.cursor, echo);
            back(tail, echo);
        }
    }

    fn backspace(&mut self, echo: &mut Vec<u8>) {
        if self.cursor == 0 {
            return;
        }
        self.cursor -= 1;
        echo.push(0x08);
        self.remove_at_cursor(echo);
    }

    fn delete(&mut self, echo: &mut Vec<u8>) {
        if self.cursor < self.line.len() {
            self.remove_at_cursor(echo);
        }
    }

    /// Removes the character under the cursor and redraws what followed it.
    fn remove_at_cursor(&mut self, echo: &mut Vec<u8>) {
        let c = self.line.remove(self.cursor);
        self.bytes -= c.len_utf8();
        let tail = self.line.len() - self.cursor;
        self.write_from(self.cursor, echo);
        echo.push(b' ');
        back(tail + 1, echo);
    }

    fn kill_to_start(&mut self, echo: &mut Vec<u8>) {
        let keep: Vec<char> = self.line[self.cursor..].to_vec();
        self.set_line(keep, 0, echo);
        if self.line.is_empty() {
            self.overflow = false;
        }
    }

    fn kill_to_end(&mut self, echo: &mut Vec<u8>) {
        let keep: Vec<char> = self.line[..self.cursor].to_vec();
        let cursor = self.cursor;
        self.set_line(keep, cursor, echo);
    }

    fn home(&mut self, echo: &mut Vec<u8>) {
        back(self.cursor, echo);
        self.cursor = 0;
    }

    fn end(&mut self, echo: &mut Vec<u8>) {
        forward(self.line.len() - self.cursor, echo);
        self.cursor = self.line.len();
    }

    fn left(&mut self, echo: &mut Vec<u8>) {
        if self.cursor > 0 {
            self.cursor -= 1;
            back(1, echo);
        }
    }

    fn right(&mut self, echo: &mut Vec<u8>) {
        if self.cursor < self.line.len() {
            self.cursor += 1;
            forward(1, echo);
        }
    }

    fn up(&mut self, echo: &mut Vec<u8>) {
        let pos = match self.browsing {
            None if self.history.is_empty() => return,
            None => {
                self.draft = self.line.clone();
                self.history.len() - 1
            }
            Some(0) => return,
            Some(p) => p - 1,
        };
        self.browsing = Some(pos);
        let line: Vec<char> = self.history[pos].chars().collect();
        let end = line.len();
        self.set_line(line, end, echo);
    }

    fn down(&mut self, echo: &mut Vec<u8>) {
        let Some(pos) = self.browsing else {
            return;
        };
        let line: Vec<char> = if pos + 1 < self.history.len() {
            self.browsing = Some(pos + 1);
            self.history[pos + 1].chars().collect()
        } else {
            self.browsing = None;
            std::mem::take(&mut self.draft)
        };
        let end = line.len();
        self.set_line(line, end, echo);
    }

    /// Replaces the whole line and redraws it from the prompt, which is sturdier than patching
    /// the old text in place when the two differ everywhere.
    fn set_line(&mut self, line: Vec<char>, cursor: usize, echo: &mut Vec<u8>) {
        self.bytes = line.iter().map(|c| c.len_utf8()).sum();
        self.line = line;
        self.cursor = cursor.min(self.line.len());
        echo.push(b'\r');
        echo.extend_from_slice(self.prompt.as_bytes());
        self.write_from(0, echo);
        echo.extend_from_slice(b"\x1b[K");
        back(self.line.len() - self.cursor, echo);
    }

    fn write_from(&self, from: usize, echo: &mut Vec<u8>) {
        let s: String = self.line[from..].iter().collect();
        echo.extend_from_slice(s.as_bytes());
    }
}

/// Moves the terminal's cursor `n` columns left.
fn back(n: usize, echo: &mut Vec<u8>) {
    match n {
        0 => {}
        1 => echo.push(0x08),
        n => echo.extend_from_slice(format!("\x1b[{n}D").as_bytes()),
    }
}

/// Moves the terminal's cursor `n` columns right.
fn forward(n: usize, echo: &mut Vec<u8>) {
    if n > 0 {
        echo.extend_from_slice(format!("\x1b[{n}C").as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds everything, collecting the echo and every event.
    fn run(ed: &mut Editor, input: &[u8]) -> (Vec<u8>, Vec<Event>) {
        let mut echo = Vec::new();
        let mut events = Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            let (n, ev) = ed.feed(rest, &mut echo);
            rest = &rest[n..];
            events.extend(ev);
        }
        (echo, events)
    }

    fn lines(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Line(l) => Some(l.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn printable_input_is_echoed_and_enter_finishes_the_line() {
        let mut ed = Editor::new("> ");
        let (echo, events) = run(&mut ed, b"xStatus\r");
        assert_eq!(echo, b"xStatus\r\n");
        assert_eq!(events, vec![Event::Line("xStatus".into())]);
        assert_eq!(ed.current(), "");
    }

    #[test]
    fn cr_lf_and_crlf_each_end_one_line() {
        let mut ed = Editor::new("> ");
        let (_, events) = run(&mut ed, b"a\rb\nc\r\nd\r\re");
        assert_eq!(
            events,
            vec![
                Event::Line("a".into()),
                Event::Line("b".into()),
                Event::Line("c".into()),
                Event::Line("d".into()),
                Event::Line("".into()),
            ]
        );
        assert_eq!(ed.current(), "e");
    }

    #[test]
    fn feed_stops_after_the_first_event() {
        let mut ed = Editor::new("> ");
        let mut echo = Vec::new();
        let (n, ev) = ed.feed(b"one\rtwo\r", &mut echo);
        assert_eq!((n, ev), (4, Some(Event::Line("one".into()))));
        assert_eq!(echo, b"one\r\n");
        // The LF of a CRLF split across two reads is still part of the same Enter.
        let mut ed = Editor::new("> ");
        let (_, ev) = ed.feed(b"x\r", &mut echo);
        assert_eq!(ev, Some(Event::Line("x".into())));
        let (n, ev) = ed.feed(b"\n", &mut echo);
        assert_eq!((n, ev), (1, None));
    }

    #[test]
    fn backspace_and_delete_remove_the_character_before_the_cursor() {
        let mut ed = Editor::new("> ");
        let (echo, _) = run(&mut ed, b"abc\x7f");
        assert_eq!(echo, b"abc\x08 \x08");
        assert_eq!(ed.current(), "ab");
        let (_, _) = run(&mut ed, b"\x08\x08\x08");
        assert_eq!(ed.current(), "");
        let (echo, _) = run(&mut ed, b"\x7f");
        assert!(echo.is_empty(), "nothing to erase, nothing echoed");
    }

    #[test]
    fn ctrl_c_cancels_the_line() {
        let mut ed = Editor::new("> ");
        let (echo, events) = run(&mut ed, b"xCommand Restart\x03");
        assert!(echo.ends_with(b"^C\r\n"));
        assert_eq!(events, vec![Event::Cancel]);
        assert_eq!(ed.current(), "");
        assert_eq!(ed.history().count(), 0, "a cancelled line is not history");
    }

    #[test]
    fn ctrl_d_logs_out_only_on_an_empty_line() {
        let mut ed = Editor::new("> ");
        let (_, events) = run(&mut ed, b"ab\x02\x04");
        assert!(events.is_empty());
        assert_eq!(ed.current(), "a", "Ctrl-D deletes under the cursor");
        let (_, events) = run(&mut ed, b"\x7f\x04");
        assert_eq!(events, vec![Event::Logout]);
    }

    #[test]
    fn ctrl_u_kills_back_to_the_start() {
        let mut ed = Editor::new("> ");
        let (echo, _) = run(&mut ed, b"hello world\x15");
        assert_eq!(ed.current(), "");
        assert!(echo.ends_with(b"\r> \x1b[K"));
        let (_, _) = run(&mut ed, b"abcdef\x1b[D\x1b[D\x15");
        assert_eq!(ed.current(), "ef");
        let (_, events) = run(&mut ed, b"\r");
        assert_eq!(lines(&events), vec!["ef"]);
    }

    #[test]
    fn arrows_move_within_the_line_and_typing_inserts_there() {
        let mut ed = Editor::new("> ");
        let (echo, _) = run(&mut ed, b"xStaus\x1b[D\x1b[Dt");
        assert_eq!(ed.current(), "xStatus");
        // The inserted character, the rest of the line, and back to where the cursor was.
        assert!(
            echo.ends_with(b"tus\x1b[2D"),
            "{:?}",
            String::from_utf8_lossy(&echo)
        );
        // Application-cursor arrows (ESC O C) work too; right stops at the end.
        let (_, events) = run(&mut ed, b"\x1bOC\x1bOC\x1bOC\x1bOC!\r");
        assert_eq!(lines(&events), vec!["xStatus!"]);
        // Left stops at the start.
        let (_, events) = run(&mut ed, b"b\x1b[D\x1b[D\x1b[Da\r");
        assert_eq!(lines(&events), vec!["ab"]);
    }

    #[test]
    fn home_end_and_delete_keys() {
        let mut ed = Editor::new("> ");
        let (_, events) = run(&mut ed, b"bc\x1b[Ha\x1b[Fd\x01\x1b[3~\x05e\r");
        assert_eq!(lines(&events), vec!["bcde"]);
        let (_, events) = run(&mut ed, b"xyz\x1b[1~\x1b[3~\x1b[4~\r");
        assert_eq!(lines(&events), vec!["yz"]);
    }

    #[test]
    fn up_and_down_walk_the_history_and_give_back_the_draft() {
        let mut ed = Editor::new("> ");
        run(&mut ed, b"first\rsecond\r");
        let (echo, events) = run(&mut ed, b"dra\x1b[A");
        assert!(events.is_empty());
        assert_eq!(ed.current(), "second");
        assert!(echo.ends_with(b"\r> second\x1b[K"));
        run(&mut ed, b"\x1b[A\x1b[A");
        assert_eq!(ed.current(), "first", "the oldest entry stays");
        run(&mut ed, b"\x1b[B");
        assert_eq!(ed.current(), "second");
        run(&mut ed, b"\x1b[B");
        assert_eq!(ed.current(), "dra", "past the newest entry comes the draft");
        run(&mut ed, b"\x1b[B");
        assert_eq!(ed.current(), "dra");
        let (_, events) = run(&mut ed, b"\x15\x1b[A\r");
        assert_eq!(
            lines(&events),
            vec!["second"],
            "up then Enter runs the last line again"
        );
        assert_eq!(ed.history().collect::<Vec<_>>(), vec!["first", "second"]);
    }

    #[test]
    fn history_keeps_the_last_hundred_lines_without_repeats_or_blanks() {
        let mut ed = Editor::new("> ");
        for i in 0..150 {
            run(&mut ed, format!("line {i}\r").as_bytes());
        }
        run(&mut ed, b"line 149\r   \r\r");
        let h: Vec<_> = ed.history().collect();
        assert_eq!(h.len(), HISTORY);
        assert_eq!(h[0], "line 50");
        assert_eq!(h[99], "line 149");
    }

    #[test]
    fn ctrl_p_and_ctrl_n_are_up_and_down() {
        let mut ed = Editor::new("> ");
        run(&mut ed, b"one\rtwo\r");
        run(&mut ed, b"\x10\x10\x0e");
        assert_eq!(ed.current(), "two");
    }

    #[test]
    fn utf8_is_decoded_even_when_split_across_reads() {
        let mut ed = Editor::new("> ");
        let text = "Zürich ☎".as_bytes();
        let mut echo = Vec::new();
        for b in text {
            let (n, ev) = ed.feed(std::slice::from_ref(b), &mut echo);
            assert_eq!((n, ev), (1, None));
        }
        assert_eq!(ed.current(), "Zürich ☎");
        assert_eq!(echo, text);
        // Backspace removes one character, not one byte.
        run(&mut ed, b"\x7f");
        assert_eq!(ed.current(), "Zürich ");
        // Broken sequences and stray continuation bytes are dropped.
        run(&mut ed, b"\xc3x\x80\xff");
        assert_eq!(ed.current(), "Zürich x");
    }

    #[test]
    fn controls_and_unknown_sequences_are_ignored() {
        let mut ed = Editor::new("> ");
        let (echo, events) = run(&mut ed, b"a\t\x07\x1b[15~\x1b[1;5C\x1bxb\x1b[?25h\r");
        assert_eq!(lines(&events), vec!["ab"]);
        assert_eq!(echo, b"ab\r\n");
        // A very long sequence is swallowed up to its final byte (`o`) without being kept, and
        // a control byte inside one still acts.
        let mut junk = b"\x1b[".to_vec();
        junk.extend(std::iter::repeat_n(b'1', 1000));
        junk.extend_from_slice(b"ok\x1b[12\r");
        let (_, events) = run(&mut ed, &junk);
        assert_eq!(lines(&events), vec!["k"]);
        assert!(matches!(ed.keys, Keys::Ground));
    }

    #[test]
    fn an_overlong_line_is_refused_whole() {
        let mut ed = Editor::new("> ");
        let big = vec![b'a'; MAX_LINE + 10];
        let (echo, events) = run(&mut ed, &big);
        assert!(events.is_empty());
        assert_eq!(
            echo.len(),
            MAX_LINE + 1,
            "the line up to the limit, then one bell"
        );
        assert_eq!(echo.last(), Some(&0x07));
        let (_, events) = run(&mut ed, b"\r");
        assert_eq!(events, vec![Event::TooLong]);
        assert_eq!(ed.history().count(), 0);
        let (_, events) = run(&mut ed, b"next\r");
        assert_eq!(lines(&events), vec!["next"]);
        // Exactly at the limit is fine.
        let (_, events) = run(&mut ed, &[vec![b'b'; MAX_LINE], b"\r".to_vec()].concat());
        assert_eq!(lines(&events), vec!["b".repeat(MAX_LINE)]);
    }
}
