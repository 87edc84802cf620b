//! Money without floats. Amounts are kept as whole minor units of an ISO 4217 currency
//! (cents of EUR, yen of JPY, fils of BHD) in an `i64`; quantities, prices, rates and
//! discounts are exact decimals (`rust_decimal`).
//!
//! The rule, stated once for every invoice (EN 16931's):
//!
//! 1. A line's **net** is quantity × unit price, less the line's discount (a percentage),
//!    rounded to the currency's minor unit, half away from zero.
//! 2. The **tax of each rate** is the sum of the nets of the lines at that rate times the
//!    rate, rounded the same way, once per rate (the tax breakdown a tax office reads).
//! 3. The invoice's **net** is the sum of the lines' nets, its **tax** the sum of the
//!    rates' taxes, its **total** net plus tax.
//!
//! So the lines shown always add up to the totals shown, to the cent.

use std::collections::BTreeMap;

use rust_decimal::prelude::ToPrimitive as _;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::{Error, Result};

/// The largest amount in minor units, either way (ten trillion units of a two-decimal
/// currency): far beyond any invoice, far below where `i64` sums could overflow.
pub const LARGEST: i64 = 1_000_000_000_000_000;

/// ISO 4217 currencies and their minor units (decimals).
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("MAD", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("VND", 0),
    ("ZAR", 2),
];

/// A currency: its ISO 4217 code and how many decimals its minor unit has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    minor: u32,
}

impl Currency {
    /// Reads an ISO 4217 code (any case) this build knows.
    pub fn parse(field: &'static str, text: &str) -> Result<Currency> {
        let code = text.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(known, _)| *known == code)
            .map(|(code, minor)| Currency { code, minor: *minor })
            .ok_or_else(|| {
                Error::field(
                    field,
                    format!("'{text}' is not a currency this server knows: use its three-letter ISO 4217 code, such as EUR, USD or GBP"),
                )
            })
    }

    /// Every currency this build knows, by code.
    pub fn known() -> impl Iterator<Item = Currency> {
        CURRENCIES.iter().map(|(code, minor)| Currency {
            code,
            minor: *minor,
        })
    }

    /// The three-letter code.
    pub fn code(self) -> &'static str {
        self.code
    }

    /// Decimals of the minor unit (2 for EUR, 0 for JPY, 3 for BHD).
    pub fn minor_units(self) -> u32 {
        self.minor
    }

    /// `amount` minor units as a plain decimal number (`1234.50`, `-0.05`, `1200` yen).
    pub fn format(self, amount: i64) -> String {
        Decimal::new(amount, self.minor).to_string()
    }

    /// An amount typed in major units (`12.50`) as minor units: at most as many decimals
    /// as the currency has.
    pub fn parse_amount(self, field: &'static str, text: &str) -> Result<i64> {
        let value = decimal(field, text)?;
        if value.scale() > self.minor {
            return Err(Error::field(
                field,
                format!("{} amounts have at most {} decimals", self.code, self.minor),
            ));
        }
        to_minor(field, value, self)
    }
}

/// `text` as an exact decimal.
fn decimal(field: &'static str, text: &str) -> Result<Decimal> {
    Decimal::from_str_exact(text.trim()).map_err(|_| {
        Error::field(
            field,
            format!("'{text}' is not a number (write it like 12.50)"),
        )
    })
}

/// A decimal amount in major units as whole minor units, rounded half away from zero.
fn to_minor(field: &'static str, value: Decimal, currency: Currency) -> Result<i64> {
    let scaled = value
        .checked_mul(Decimal::from(10_i64.pow(currency.minor)))
        .ok_or_else(|| too_large(field))?
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    scaled
        .to_i64()
        .filter(|v| v.abs() <= LARGEST)
        .ok_or_else(|| too_large(field))
}

fn too_large(field: &'static str) -> Error {
    Error::field(field, "the amount is too large")
}

/// One line of an invoice as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// How many (not zero; negative for a correction), at most four decimals.
    pub quantity: Decimal,
    /// The price of one, in major units, at most four decimals (a price may be finer
    /// than the currency: 0.0125 per word).
    pub unit_price: Decimal,
    /// The tax rate in percent, 0 to 100, at most three decimals (19, 7.7, 0).
    pub tax_rate: Decimal,
    /// The discount in percent, 0 to 100, at most two decimals.
    pub discount: Decimal,
}

impl Line {
    /// Reads a line's numbers as typed; each wrong one is a field error naming it.
    pub fn parse(quantity: &str, unit_price: &str, tax_rate: &str, discount: &str) -> Result<Line> {
        let limited = |field: &'static str, text: &str, decimals: u32| -> Result<Decimal> {
            let value = decimal(field, text)?;
            if value.scale() > decimals {
                return Err(Error::field(field, format!("at most {decimals} decimals")));
            }
            if value.abs() >= Decimal::from(1_000_000_000_i64) {
                return Err(Error::field(field, "the number is too large"));
            }
            Ok(value.normalize())
        };
        let quantity = limited("quantity", quantity, 4)?;
        if quantity.is_zero() {
            return Err(Error::field(
                "quantity",
                "a line needs a quantity other than 0",
            ));
        }
        let unit_price = limited("unit_price", unit_price, 4)?;
        let tax_rate = limited("tax_rate", tax_rate, 3)?;
        if tax_rate.is_sign_negative() || tax_rate > Decimal::ONE_HUNDRED {
            return Err(Error::field(
                "tax_rate",
                "a tax rate is from 0 to 100 percent",
            ));
        }
        let discount = limited("discount", discount, 2)?;
        if discount.is_sign_negative() || discount > Decimal::ONE_HUNDRED {
            return Err(Error::field(
                "discount",
                "a discount is from 0 to 100 percent",
            ));
        }
        Ok(Line {
            quantity,
            unit_price,
            tax_rate,
            discount,
        })
    }

    /// The line's net in minor units (rule 1).
    pub fn net(&self, currency: Currency) -> Result<i64> {
        let gross = self
            .quantity
            .checked_mul(self.unit_price)
            .ok_or_else(|| too_large("unit_price"))?;
        let kept = (Decimal::ONE_HUNDRED - self.discount) / Decimal::ONE_HUNDRED;
        let net = gross
            .checked_mul(kept)
            .ok_or_else(|| too_large("unit_price"))?;
        to_minor("unit_price", net, currency)
    }
}

/// The tax of one rate: the sum of its lines' nets and the tax on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxShare {
    /// The rate in percent.
    pub rate: Decimal,
    /// The sum of the nets of its lines, in minor units.
    pub base: i64,
    /// The tax, in minor units (rule 2).
    pub tax: i64,
}

/// An invoice's amounts, all in minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    /// Each line's net, in the lines' order.
    pub lines: Vec<i64>,
    /// The tax breakdown, by rate ascending.
    pub taxes: Vec<TaxShare>,
    /// The sum of the lines' nets.
    pub net: i64,
    /// The sum of the taxes.
    pub tax: i64,
    /// Net plus tax.
    pub total: i64,
}

/// The sum of `values`, within [`LARGEST`].
fn sum(values: impl Iterator<Item = i64>) -> Result<i64> {
    let mut total = 0_i64;
    for value in values {
        total = total
            .checked_add(value)
            .ok_or_else(|| too_large("unit_price"))?;
    }
    if total.abs() > LARGEST {
        return Err(too_large("unit_price"));
    }
    Ok(total)
}

/// The amounts of `lines` in `currency`, by the module's rule.
pub fn totals(lines: &[Line], currency: Currency) -> Result<Totals> {
    let nets = lines
        .iter()
        .map(|line| line.net(currency))
        .collect::<Result<Vec<i64>>>()?;
    let mut bases: BTreeMap<Decimal, i64> = BTreeMap::new();
    for (line, net) in lines.iter().zip(&nets) {
        let base = bases.entry(line.tax_rate).or_insert(0);
        *base = base
            .checked_add(*net)
            .ok_or_else(|| too_large("unit_price"))?;
    }
    let mut taxes = Vec::with_capacity(bases.len());
    for (rate, base) in bases {
        let tax = Decimal::new(base, currency.minor)
            .checked_mul(rate / Decimal::ONE_HUNDRED)
            .ok_or_else(|| too_large("unit_price"))?;
        taxes.push(TaxShare {
            rate,
            base,
            tax: to_minor("tax_rate", tax, currency)?,
        });
    }
    let net = sum(nets.iter().copied())?;
    let tax = sum(taxes.iter().map(|t| t.tax))?;
    let total = net
        .checked_add(tax)
        .ok_or_else(|| too_large("unit_price"))?;
    Ok(Totals {
        lines: nets,
        taxes,
        net,
        tax,
        total,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn eur() -> Currency {
        Currency::parse("currency", "eur").unwrap_or_else(|e| panic!("{e}"))
    }

    fn line(q: &str, p: &str, t: &str, d: &str) -> Line {
        Line::parse(q, p, t, d).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn lines_round_half_away_from_zero_and_taxes_once_per_rate() {
        let lines = [
            line("3", "0.335", "19", "0"),  // 1.005 → 1.01
            line("1", "10", "19", "10"),    // 9.00
            line("2.5", "4.99", "7", "0"),  // 12.475 → 12.48
            line("-1", "0.005", "19", "0"), // -0.005 → -0.01
        ];
        let totals = totals(&lines, eur()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(totals.lines, vec![101, 900, 1248, -1]);
        assert_eq!(totals.net, 2248);
        // 7 %: 12.48 × 0.07 = 0.8736 → 0.87; 19 %: 10.00 × 0.19 = 1.90.
        let shares: Vec<(String, i64, i64)> = totals
            .taxes
            .iter()
            .map(|t| (t.rate.to_string(), t.base, t.tax))
            .collect();
        assert_eq!(
            shares,
            vec![("7".to_owned(), 1248, 87), ("19".to_owned(), 1000, 190)]
        );
        assert_eq!(totals.tax, 277);
        assert_eq!(totals.total, 2525);
        assert_eq!(eur().format(totals.total), "25.25");
    }

    #[test]
    fn currencies_have_their_own_minor_units() {
        let yen = Currency::parse("currency", "JPY").unwrap_or_else(|e| panic!("{e}"));
        let dinar = Currency::parse("currency", "bhd").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(line("1", "1000.5", "10", "0").net(yen).ok(), Some(1001));
        assert_eq!(line("1", "1.0005", "0", "0").net(dinar).ok(), Some(1001));
        assert_eq!(dinar.format(1001), "1.001");
        assert_eq!(yen.format(1001), "1001");
        assert_eq!(eur().parse_amount("amount", "12.5").ok(), Some(1250));
        assert!(eur().parse_amount("amount", "12.505").is_err());
        assert!(yen.parse_amount("amount", "1.5").is_err());
        assert!(Currency::parse("currency", "XXX").is_err());
        assert!(Currency::parse("currency", "").is_err());
    }

    #[test]
    fn bad_numbers_are_field_errors_naming_the_field() {
        let field_of = |r: Result<Line>| match r {
            Err(Error::Field { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field_of(Line::parse("0", "1", "0", "0")), "quantity");
        assert_eq!(field_of(Line::parse("one", "1", "0", "0")), "quantity");
        assert_eq!(field_of(Line::parse("1", "1e5", "0", "0")), "unit_price");
        assert_eq!(
            field_of(Line::parse("1", "1.00001", "0", "0")),
            "unit_price"
        );
        assert_eq!(field_of(Line::parse("1", "1", "101", "0")), "tax_rate");
        assert_eq!(field_of(Line::parse("1", "1", "-1", "0")), "tax_rate");
        assert_eq!(field_of(Line::parse("1", "1", "0", "100.5")), "discount");
        assert_eq!(
            field_of(Line::parse("1", "9999999999", "0", "0")),
            "unit_price"
        );
        // The largest lines still add up without overflow, or are refused.
        let huge = line("999999999", "999999999", "100", "0");
        assert!(totals(&[huge.clone(), huge], eur()).is_err());
    }

    fn any_line() -> impl Strategy<Value = Line> {
        (
            -9_999_i64..99_999,
            -99_999_999_i64..99_999_999,
            prop::sample::select(vec!["0", "5", "7", "7.7", "19", "20", "21", "25.5"]),
            0_i64..=10_000,
        )
            .prop_filter("a quantity", |(q, ..)| *q != 0)
            .prop_map(|(q, p, t, d)| Line {
                quantity: Decimal::new(q, 2),
                unit_price: Decimal::new(p, 4),
                tax_rate: Decimal::from_str_exact(t).unwrap_or_default(),
                discount: Decimal::new(d, 2),
            })
    }

    proptest! {
        /// The lines add up to the net, the rates' bases to the net, the taxes to the
        /// tax, and net plus tax to the total, whatever the lines; each tax is its base
        /// times its rate, within half a minor unit; and the order of lines changes
        /// nothing.
        #[test]
        fn rounded_lines_always_add_up_to_the_totals(lines in prop::collection::vec(any_line(), 0..40)) {
            let currency = eur();
            let totals = totals(&lines, currency).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(totals.lines.iter().sum::<i64>(), totals.net);
            prop_assert_eq!(totals.taxes.iter().map(|t| t.base).sum::<i64>(), totals.net);
            prop_assert_eq!(totals.taxes.iter().map(|t| t.tax).sum::<i64>(), totals.tax);
            prop_assert_eq!(totals.net + totals.tax, totals.total);
            for share in &totals.taxes {
                let exact = Decimal::from(share.base) * share.rate / Decimal::ONE_HUNDRED;
                let off = (Decimal::from(share.tax) - exact).abs();
                prop_assert!(off <= Decimal::new(5, 1), "{share:?}");
            }
            for (line, net) in lines.iter().zip(&totals.lines) {
                let exact = line.quantity * line.unit_price * (Decimal::ONE_HUNDRED - line.discount)
                    / Decimal::ONE_HUNDRED * Decimal::ONE_HUNDRED;
                prop_assert!((Decimal::from(*net) - exact).abs() <= Decimal::new(5, 1));
            }
            let mut reversed = lines.clone();
            reversed.reverse();
            let again = super::totals(&reversed, currency).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!((again.net, again.tax, again.total), (totals.net, totals.tax, totals.total));
        }

        /// Typed amounts read back as they were written.
        #[test]
        fn amounts_read_back_as_written(cents in -LARGEST..LARGEST) {
            let currency = eur();
            let text = currency.format(cents);
            prop_assert_eq!(currency.parse_amount("amount", &text).ok(), Some(cents));
        }
    }
}
