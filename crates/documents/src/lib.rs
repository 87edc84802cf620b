//! Printable documents made on the server: invoices and credit notes as PDF (A4), in the
//! brand's name and colour, with what a tax office looks for: seller and buyer with their
//! addresses and tax ids, the document's number and dates, every line, the tax per rate,
//! the totals, and where to pay. The text is set in DejaVu Sans (embedded, subset), so any
//! Latin, Greek or Cyrillic name prints as typed; long descriptions wrap, and a long
//! invoice continues on further pages with the table's header repeated.
//!
//! This crate knows nothing of stores or permissions: it is given the words and numbers
//! to print ([`Invoice`]) and returns the bytes.

pub mod cii;

use std::sync::LazyLock;

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

static REGULAR_BYTES: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD_BYTES: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// What can go wrong making a document.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The embedded font could not be read (a broken build).
    #[error("the document font cannot be read")]
    Font,
    /// The PDF writer refused the document.
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// One party: seller or buyer.
#[derive(Debug, Clone, Default)]
pub struct Party {
    /// The legal name.
    pub name: String,
    /// The address and other details, line by line.
    pub lines: Vec<String>,
    /// The VAT or tax id, if known.
    pub tax_id: String,
}

/// One line of the table.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// What was sold.
    pub description: String,
    /// How many.
    pub quantity: String,
    /// The price of one.
    pub unit_price: String,
    /// The tax rate, with its `%`.
    pub tax_rate: String,
    /// The discount, with its `%`, or empty.
    pub discount: String,
    /// The line's net amount.
    pub net: String,
}

/// An invoice or credit note as it is printed; every amount already written out with its
/// currency.
#[derive(Debug, Clone, Default)]
pub struct Invoice {
    /// "Invoice" or "Credit note".
    pub title: String,
    /// Its number.
    pub number: String,
    /// The brand's name, at the top.
    pub brand: String,
    /// The brand's colour, `#rrggbb`.
    pub colour: String,
    /// Who sells.
    pub seller: Party,
    /// Who buys.
    pub buyer: Party,
    /// Dates and references: ("Issue date", "2 December 2026"), …
    pub facts: Vec<(String, String)>,
    /// The lines.
    pub rows: Vec<Row>,
    /// The totals block, top to bottom: (label, amount, emphasised).
    pub totals: Vec<(String, String, bool)>,
    /// Paragraphs under the totals: notes, terms, bank details.
    pub paragraphs: Vec<String>,
}

struct Fonts {
    regular: Font,
    bold: Font,
    regular_face: ttf_parser::Face<'static>,
    bold_face: ttf_parser::Face<'static>,
}

static FONTS: LazyLock<Option<Fonts>> = LazyLock::new(|| {
    Some(Fonts {
        regular: Font::new(REGULAR_BYTES.into(), 0)?,
        bold: Font::new(BOLD_BYTES.into(), 0)?,
        regular_face: ttf_parser::Face::parse(REGULAR_BYTES, 0).ok()?,
        bold_face: ttf_parser::Face::parse(BOLD_BYTES, 0).ok()?,
    })
});

/// A4 in points.
const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 48.0;
const BODY: f32 = 9.5;
const LEADING: f32 = 13.0;

/// The table's columns: (left edge, width, right-aligned).
const COLUMNS: [(f32, f32, bool); 6] = [
    (MARGIN, 215.0, false),
    (MARGIN + 215.0, 50.0, true),
    (MARGIN + 265.0, 70.0, true),
    (MARGIN + 335.0, 45.0, true),
    (MARGIN + 380.0, 45.0, true),
    (MARGIN + 425.0, WIDTH - 2.0 * MARGIN - 425.0, true),
];
const HEADINGS: [&str; 6] = ["Description", "Qty", "Unit price", "Tax", "Disc.", "Net"];

fn colour_of(hex: &str) -> rgb::Color {
    let hex = hex.trim_start_matches('#');
    let part = |i: usize| {
        hex.get(i..i + 2)
            .and_then(|p| u8::from_str_radix(p, 16).ok())
    };
    match (part(0), part(2), part(4)) {
        (Some(r), Some(g), Some(b)) if hex.len() == 6 => rgb::Color::new(r, g, b),
        _ => rgb::Color::new(31, 78, 121),
    }
}

fn fill(colour: rgb::Color) -> Fill {
    Fill {
        paint: colour.into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

/// Writes on the pages, starting new ones as the text runs down.
struct Writer<'f> {
    fonts: &'f Fonts,
    colour: rgb::Color,
    ink: rgb::Color,
    grey: rgb::Color,
}

impl Writer<'_> {
    fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let face = if bold {
            &self.fonts.bold_face
        } else {
            &self.fonts.regular_face
        };
        let units: u32 = text
            .chars()
            .map(|c| {
                face.glyph_index(c)
                    .and_then(|g| face.glyph_hor_advance(g))
                    .map_or(0, u32::from)
            })
            .sum();
        units as f32 * size / f32::from(face.units_per_em())
    }

    fn text(&self, surface: &mut Surface<'_>, x: f32, y: f32, text: &str, size: f32, bold: bool) {
        let font = if bold {
            self.fonts.bold.clone()
        } else {
            self.fonts.regular.clone()
        };
        surface.draw_text(
            Point::from_xy(x, y),
            font,
            size,
            text,
            false,
            TextDirection::Auto,
        );
    }

    fn right(
        &self,
        surface: &mut Surface<'_>,
        right: f32,
        y: f32,
        text: &str,
        size: f32,
        bold: bool,
    ) {
        let x = right - self.width(text, size, bold);
        self.text(surface, x, y, text, size, bold);
    }

    fn rule(&self, surface: &mut Surface<'_>, y: f32, colour: rgb::Color, thickness: f32) {
        surface.set_fill(Some(fill(colour)));
        let mut path = PathBuilder::new();
        if let Some(rect) = Rect::from_xywh(MARGIN, y, WIDTH - 2.0 * MARGIN, thickness) {
            path.push_rect(rect);
        }
        if let Some(path) = path.finish() {
            surface.draw_path(&path);
        }
        surface.set_fill(Some(fill(self.ink)));
    }

    /// `text` broken into lines of at most `width` points (words longer than a line are
    /// cut where they must be).
    fn wrap(&self, text: &str, width: f32, size: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.lines() {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.width(&candidate, size, false) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                let mut piece = String::new();
                for c in word.chars() {
                    piece.push(c);
                    if self.width(&piece, size, false) > width {
                        piece.pop();
                        lines.push(std::mem::take(&mut piece));
                        piece.push(c);
                    }
                }
                line = piece;
            }
            lines.push(line);
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
        lines
    }

    fn table_header(&self, surface: &mut Surface<'_>, y: f32) -> f32 {
        surface.set_fill(Some(fill(self.grey)));
        for ((x, width, right), heading) in COLUMNS.iter().zip(HEADINGS) {
            if *right {
                self.right(surface, x + width, y, heading, 8.5, true);
            } else {
                self.text(surface, *x, y, heading, 8.5, true);
            }
        }
        self.rule(surface, y + 5.0, self.colour, 1.0);
        y + 5.0 + LEADING
    }
}

/// The invoice as a PDF.
pub fn invoice_pdf(invoice: &Invoice) -> Result<Vec<u8>, Error> {
    let fonts = FONTS.as_ref().ok_or(Error::Font)?;
    let writer = Writer {
        fonts,
        colour: colour_of(&invoice.colour),
        ink: rgb::Color::new(29, 29, 31),
        grey: rgb::Color::new(74, 81, 89),
    };
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!("{} {}", invoice.title, invoice.number))
            .creator(invoice.brand.clone())
            .language("en".to_owned()),
    );
    let settings = PageSettings::from_wh(WIDTH, HEIGHT)
        .ok_or_else(|| Error::Pdf("the page size is not usable".to_owned()))?;
    // Rows are laid out first so that pages break between rows, never inside one.
    let description_width = COLUMNS[0].1 - 8.0;
    let laid_out: Vec<(Vec<String>, &Row)> = invoice
        .rows
        .iter()
        .map(|row| (writer.wrap(&row.description, description_width, BODY), row))
        .collect();
    let mut rows = laid_out.iter().peekable();
    let mut page_number = 0;
    let bottom = HEIGHT - MARGIN - 20.0;
    loop {
        page_number += 1;
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        let mut y = MARGIN;
        // The band: brand name, document title and number.
        surface.set_fill(Some(fill(writer.colour)));
        writer.text(&mut surface, MARGIN, y + 12.0, &invoice.brand, 14.0, true);
        writer.right(
            &mut surface,
            WIDTH - MARGIN,
            y + 12.0,
            &format!("{} {}", invoice.title, invoice.number),
            14.0,
            true,
        );
        writer.rule(&mut surface, y + 20.0, writer.colour, 2.0);
        y += 20.0 + 2.0 * LEADING;
        if page_number == 1 {
            y = parties(&writer, &mut surface, invoice, y);
        }
        y = writer.table_header(&mut surface, y);
        while let Some((lines, row)) = rows.peek() {
            let height = lines.len() as f32 * LEADING + 4.0;
            if y + height > bottom {
                break;
            }
            for (index, line) in lines.iter().enumerate() {
                writer.text(
                    &mut surface,
                    COLUMNS[0].0,
                    y + index as f32 * LEADING,
                    line,
                    BODY,
                    false,
                );
            }
            let cells = [
                &row.quantity,
                &row.unit_price,
                &row.tax_rate,
                &row.discount,
                &row.net,
            ];
            for ((x, width, _), cell) in COLUMNS[1..].iter().zip(cells) {
                writer.right(&mut surface, x + width, y, cell, BODY, false);
            }
            y += height;
            rows.next();
        }
        let finished = rows.peek().is_none();
        if finished {
            let needed = invoice.totals.len() as f32 * LEADING + 2.0 * LEADING;
            if y + needed <= bottom {
                totals_and_paragraphs(&writer, &mut surface, invoice, y, bottom);
                footer(&writer, &mut surface, page_number);
                surface.finish();
                page.finish();
                break;
            }
        }
        footer(&writer, &mut surface, page_number);
        surface.finish();
        page.finish();
        if finished {
            // The totals go on a page of their own.
            page_number += 1;
            let mut page = document.start_page_with(settings.clone());
            let mut surface = page.surface();
            totals_and_paragraphs(&writer, &mut surface, invoice, MARGIN + LEADING, bottom);
            footer(&writer, &mut surface, page_number);
            surface.finish();
            page.finish();
            break;
        }
    }
    document.finish().map_err(|e| Error::Pdf(format!("{e:?}")))
}

/// Seller, buyer and the facts; returns where the table starts.
fn parties(writer: &Writer<'_>, surface: &mut Surface<'_>, invoice: &Invoice, top: f32) -> f32 {
    let column = (WIDTH - 2.0 * MARGIN) / 3.0;
    let mut lowest = top;
    for (index, (heading, party)) in [("From", &invoice.seller), ("To", &invoice.buyer)]
        .into_iter()
        .enumerate()
    {
        let x = MARGIN + index as f32 * column;
        let mut y = top;
        surface.set_fill(Some(fill(writer.grey)));
        writer.text(surface, x, y, heading, 8.5, true);
        surface.set_fill(Some(fill(writer.ink)));
        y += LEADING;
        for line in writer.wrap(&party.name, column - 10.0, BODY) {
            writer.text(surface, x, y, &line, BODY, true);
            y += LEADING;
        }
        for text in &party.lines {
            for line in writer.wrap(text, column - 10.0, BODY) {
                writer.text(surface, x, y, &line, BODY, false);
                y += LEADING;
            }
        }
        if !party.tax_id.is_empty() {
            writer.text(
                surface,
                x,
                y,
                &format!("Tax id: {}", party.tax_id),
                BODY,
                false,
            );
            y += LEADING;
        }
        lowest = lowest.max(y);
    }
    let x = MARGIN + 2.0 * column;
    let mut y = top;
    for (label, value) in &invoice.facts {
        surface.set_fill(Some(fill(writer.grey)));
        writer.text(surface, x, y, label, 8.5, true);
        surface.set_fill(Some(fill(writer.ink)));
        writer.right(surface, WIDTH - MARGIN, y, value, BODY, false);
        y += LEADING;
    }
    lowest.max(y) + 2.0 * LEADING
}

fn totals_and_paragraphs(
    writer: &Writer<'_>,
    surface: &mut Surface<'_>,
    invoice: &Invoice,
    top: f32,
    bottom: f32,
) {
    writer.rule(surface, top - 6.0, writer.grey, 0.5);
    let mut y = top + 8.0;
    for (label, amount, strong) in &invoice.totals {
        writer.right(
            surface,
            COLUMNS[4].0 + COLUMNS[4].1,
            y,
            label,
            BODY,
            *strong,
        );
        writer.right(surface, WIDTH - MARGIN, y, amount, BODY, *strong);
        y += LEADING;
    }
    y += LEADING;
    for paragraph in &invoice.paragraphs {
        for line in writer.wrap(paragraph, WIDTH - 2.0 * MARGIN, BODY) {
            if y > bottom {
                return;
            }
            writer.text(surface, MARGIN, y, &line, BODY, false);
            y += LEADING;
        }
        y += LEADING / 2.0;
    }
}

fn footer(writer: &Writer<'_>, surface: &mut Surface<'_>, page_number: usize) {
    surface.set_fill(Some(fill(writer.grey)));
    writer.right(
        surface,
        WIDTH - MARGIN,
        HEIGHT - MARGIN + 10.0,
        &format!("Page {page_number}"),
        8.0,
        false,
    );
    surface.set_fill(Some(fill(writer.ink)));
}

/// The fonts are shared by every document; this loads them now (at start-up) rather than
/// on the first invoice.
pub fn warm_up() -> Result<(), Error> {
    FONTS.as_ref().map(|_| ()).ok_or(Error::Font)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rows: usize) -> Invoice {
        Invoice {
            title: "Invoice".to_owned(),
            number: "2026-0042".to_owned(),
            brand: "Studio Nord".to_owned(),
            colour: "#0b3d2e".to_owned(),
            seller: Party {
                name: "Studio Nord GmbH".to_owned(),
                lines: vec!["Am Hafen 5".to_owned(), "20457 Hamburg".to_owned()],
                tax_id: "DE123456789".to_owned(),
            },
            buyer: Party {
                name: "Łódź Ünïcödé Ltd".to_owned(),
                lines: vec!["Ulica 1".to_owned()],
                tax_id: String::new(),
            },
            facts: vec![("Issue date".to_owned(), "2 December 2026".to_owned())],
            rows: (0..rows)
                .map(|i| Row {
                    description: format!("Design work, part {i}, with a description long enough to wrap onto a second line of the table"),
                    quantity: "1.5".to_owned(),
                    unit_price: "80.00".to_owned(),
                    tax_rate: "19 %".to_owned(),
                    discount: String::new(),
                    net: "120.00 EUR".to_owned(),
                })
                .collect(),
            totals: vec![
                ("Net".to_owned(), "120.00 EUR".to_owned(), false),
                ("Total".to_owned(), "142.80 EUR".to_owned(), true),
            ],
            paragraphs: vec!["Pay to IBAN DE02 1203 0000 0000 2020 51".to_owned()],
        }
    }

    #[test]
    fn an_invoice_is_a_pdf_with_one_page_per_screenful_of_lines() {
        let pages = |pdf: &[u8]| {
            let count = |needle: &[u8]| pdf.windows(needle.len()).filter(|w| *w == needle).count();
            count(b"/Type/Page") - count(b"/Type/Pages")
        };
        let one = invoice_pdf(&sample(3)).unwrap();
        assert!(one.starts_with(b"%PDF-"));
        assert_eq!(pages(&one), 1);
        // 120 two-line rows do not fit on one page: the table goes on.
        let many = invoice_pdf(&sample(120)).unwrap();
        assert!(pages(&many) >= 4, "{} pages", pages(&many));
    }

    #[test]
    fn long_words_are_cut_to_fit_and_nothing_is_lost() {
        let fonts = FONTS.as_ref().unwrap();
        let writer = Writer {
            fonts,
            colour: colour_of("#000000"),
            ink: colour_of("#000000"),
            grey: colour_of("#000000"),
        };
        let text = "Supercalifragilisticexpialidocious and a few short words";
        let lines = writer.wrap(text, 60.0, BODY);
        assert!(lines.len() > 2);
        for line in &lines {
            assert!(writer.width(line, BODY, false) <= 60.0, "{line}");
        }
        assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
    }

    #[test]
    fn a_colour_that_is_not_hex_falls_back_to_the_default() {
        assert_eq!(colour_of("#0b3d2e"), rgb::Color::new(11, 61, 46));
        assert_eq!(colour_of("red"), rgb::Color::new(31, 78, 121));
    }
}
