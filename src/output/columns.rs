//! Tables as `kubectl get` prints them: upper-case headers, columns padded with spaces, no
//! borders, one line per row, and no cell ever broken. Free text (a reason, a pod list) goes
//! under its row as indented notes, wrapped between words at the terminal's width. With
//! `-o wide` the extra columns show; in a terminal too narrow for the table, the columns that
//! matter least are hidden, and a line says so. Piped output is never wrapped or trimmed, so
//! it stays one row a line, cells split by spaces.

use std::io::{self, Write};

/// The gap between two columns.
const GAP: usize = 2;
/// Notes sit this far in from their row.
const NOTE_INDENT: usize = 4;

/// How wide and how detailed tables are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The terminal's width; `None` when output is piped (nothing is wrapped or hidden).
    pub width: Option<usize>,
    /// `-o wide`: every column.
    pub wide: bool,
}

impl Layout {
    /// For standard output: `COLUMNS` when set (as `ls` reads it), else the terminal's width
    /// when standard output is one, else none.
    pub fn for_stdout(wide: bool) -> Layout {
        let from_env = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c >= 20);
        Layout {
            width: from_env.or_else(terminal_width),
            wide,
        }
    }
}

#[cfg(unix)]
fn terminal_width() -> Option<usize> {
    // SAFETY: isatty and the TIOCGWINSZ ioctl only read the descriptor's state into `size`.
    unsafe {
        if libc::isatty(libc::STDOUT_FILENO) != 1 {
            return None;
        }
        let mut size: libc::winsize = std::mem::zeroed();
        let ok = libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) == 0;
        (ok && size.ws_col >= 20).then_some(usize::from(size.ws_col))
    }
}

#[cfg(not(unix))]
fn terminal_width() -> Option<usize> {
    None
}

/// One column: its header, whether only `-o wide` shows it, and how readily it is hidden in a
/// narrow terminal (higher goes first; 0 never).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    pub wide_only: bool,
    pub drop_first: u8,
}

/// A column always shown.
pub const fn col(header: &'static str) -> Column {
    Column {
        header,
        wide_only: false,
        drop_first: 0,
    }
}

/// A column shown by default, hidden first (highest `rank` first) when the terminal is narrow.
pub const fn droppable(header: &'static str, rank: u8) -> Column {
    Column {
        header,
        wide_only: false,
        drop_first: rank,
    }
}

/// A column only `-o wide` shows.
pub const fn wide(header: &'static str) -> Column {
    Column {
        header,
        wide_only: true,
        drop_first: 0,
    }
}

/// A table: columns, and rows of cells, each row with notes printed under it.
#[derive(Debug, Clone)]
pub struct Columns {
    columns: Vec<Column>,
    rows: Vec<(Vec<String>, Vec<String>)>,
}

impl Columns {
    pub fn new(columns: &[Column]) -> Columns {
        Columns {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// A row: one cell per column (an empty cell prints as `-`), and notes for under it.
    pub fn row(&mut self, cells: Vec<String>, notes: Vec<String>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push((cells, notes));
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn write(&self, layout: Layout, out: &mut dyn Write) -> io::Result<()> {
        let mut shown: Vec<usize> = (0..self.columns.len())
            .filter(|&i| layout.wide || !self.columns[i].wide_only)
            .collect();
        let mut hidden = Vec::new();
        if let (Some(width), false) = (layout.width, layout.wide) {
            while self.width_of(&shown) > width {
                let Some(drop) = shown
                    .iter()
                    .copied()
                    .filter(|&i| self.columns[i].drop_first > 0)
                    .max_by_key(|&i| (self.columns[i].drop_first, i))
                else {
                    break;
                };
                shown.retain(|&i| i != drop);
                hidden.push(self.columns[drop].header);
            }
        }
        let widths: Vec<usize> = shown.iter().map(|&i| self.column_width(i)).collect();
        let header: Vec<String> = shown
            .iter()
            .map(|&i| self.columns[i].header.to_string())
            .collect();
        write_line(out, &header, &widths)?;
        for (cells, notes) in &self.rows {
            let cells: Vec<String> = shown.iter().map(|&i| cell(&cells[i])).collect();
            write_line(out, &cells, &widths)?;
            for note in notes {
                write_wrapped(out, note, NOTE_INDENT, NOTE_INDENT + 2, layout.width)?;
            }
        }
        if !hidden.is_empty() {
            hidden.reverse();
            let text = format!(
                "({} hidden to fit the terminal; -o wide shows every column)",
                hidden.join(", ")
            );
            write_wrapped(out, &text, 0, 1, layout.width)?;
        }
        Ok(())
    }

    fn column_width(&self, i: usize) -> usize {
        let cells = self.rows.iter().map(|(c, _)| chars(&cell(&c[i])));
        cells.fold(chars(self.columns[i].header), usize::max)
    }

    fn width_of(&self, shown: &[usize]) -> usize {
        let sum: usize = shown.iter().map(|&i| self.column_width(i)).sum();
        sum + GAP * shown.len().saturating_sub(1)
    }
}

/// A cell as printed: `-` when empty, and never with a line break.
fn cell(text: &str) -> String {
    match text.trim() {
        "" => "-".to_string(),
        t => t.replace(['\n', '\r'], " "),
    }
}

/// Characters, which is how wide the text is in a terminal for everything ekas prints.
fn chars(text: &str) -> usize {
    text.chars().count()
}

fn write_line(out: &mut dyn Write, cells: &[String], widths: &[usize]) -> io::Result<()> {
    let mut line = String::new();
    for (i, (text, width)) in cells.iter().zip(widths).enumerate() {
        line.push_str(text);
        if i + 1 < cells.len() {
            line.extend(std::iter::repeat_n(' ', width - chars(text) + GAP));
        }
    }
    writeln!(out, "{line}")
}

/// `text`, wrapped between words to `width` (when known): the first line `first` spaces in,
/// the others `rest`. A word longer than a line is kept whole on a line of its own.
pub fn write_wrapped(
    out: &mut dyn Write,
    text: &str,
    first: usize,
    rest: usize,
    width: Option<usize>,
) -> io::Result<()> {
    for line in wrap(text, first, rest, width) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn wrap(text: &str, first: usize, rest: usize, width: Option<usize>) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = " ".repeat(first);
    let mut empty = true;
    for word in text.split_whitespace() {
        let fits = width.is_none_or(|w| chars(&line) + 1 + chars(word) <= w);
        if !empty && !fits {
            lines.push(std::mem::replace(&mut line, " ".repeat(rest)));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    if !empty {
        lines.push(line);
    }
    lines
}

/// A section's title line.
pub fn title(out: &mut dyn Write, text: &str) -> io::Result<()> {
    writeln!(out, "\n{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(table: &Columns, width: Option<usize>, wide: bool) -> String {
        let mut out = Vec::new();
        table.write(Layout { width, wide }, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn groups() -> Columns {
        let mut t = Columns::new(&[
            col("GROUP"),
            col("TYPE"),
            droppable("UPCOMING", 1),
            droppable("STATUS", 2),
            wide("ROOM"),
        ]);
        t.row(
            vec![
                "batch-prod-cpu-usw2".into(),
                "m5.4xlarge".into(),
                "2".into(),
                "ok".into(),
                "cpu 15.79, memory 60.3Gi".into(),
            ],
            vec!["the smallest of mixed-instances overrides m5.4xlarge, m5a.4xlarge".into()],
        );
        t
    }

    #[test]
    fn columns_line_up_without_borders_and_wide_columns_wait_for_wide() {
        let text = render(&groups(), None, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "GROUP                TYPE        UPCOMING  STATUS"
        );
        assert_eq!(lines[1], "batch-prod-cpu-usw2  m5.4xlarge  2         ok");
        assert!(lines[2].starts_with("    the smallest"), "{text}");
        let wide = render(&groups(), None, true);
        assert!(wide.lines().next().unwrap().ends_with("ROOM"), "{wide}");
        assert!(wide.contains("cpu 15.79, memory 60.3Gi"), "{wide}");
    }

    // A narrow terminal hides columns and wraps notes between words: (width, headers
    // expected).
    cases! { hides_columns_and_wraps_notes;
        all_four_columns_at_80: (80, &["GROUP", "TYPE", "UPCOMING", "STATUS"]),
        status_hidden_at_45: (45, &["GROUP", "TYPE", "UPCOMING"]),
        upcoming_hidden_too_at_35: (35, &["GROUP", "TYPE"]),
        // Narrower than what never hides: printed whole all the same.
        what_never_hides_printed_whole_at_20: (20, &["GROUP", "TYPE"]),
    }

    fn hides_columns_and_wraps_notes((width, headers): (usize, &[&str])) {
        let text = render(&groups(), Some(width), false);
        let got: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(got, headers, "at {width}:\n{text}");
        // The note's words come whole and in order, on lines that fit.
        let notes: Vec<&str> = text.lines().filter(|l| l.starts_with("    ")).collect();
        let words: Vec<&str> = notes.iter().flat_map(|l| l.split_whitespace()).collect();
        let note = &groups().rows[0].1[0];
        assert_eq!(
            words,
            note.split_whitespace().collect::<Vec<_>>(),
            "at {width}"
        );
        for line in notes {
            let one_word = !line.trim().contains(' ');
            assert!(
                line.chars().count() <= width || one_word,
                "{line:?} at {width}"
            );
        }
        if headers.len() < 4 {
            assert!(text.contains("hidden"), "{text}");
        }
    }

    #[test]
    fn empty_cells_print_a_dash_so_columns_still_split_on_spaces() {
        let mut t = Columns::new(&[col("A"), col("B"), col("C")]);
        t.row(vec!["x".into(), String::new(), "z".into()], vec![]);
        let text = render(&t, None, false);
        let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(row, ["x", "-", "z"]);
    }

    #[test]
    fn wrapping_keeps_words_whole() {
        let lines = wrap("aaa bbb cccccccccc dd", 2, 4, Some(10));
        assert_eq!(lines, ["  aaa bbb", "    cccccccccc", "    dd"]);
        assert_eq!(wrap("a b", 0, 0, None), ["a b"]);
    }
}
