//! The demo catalogue: eight categories, six brands and sixty products (a third with variants),
//! each with pictures drawn here, so a newcomer's first start looks like a real shop without
//! any network access. Everything goes through the same use-cases as the admin and the API.
use loco_rs::app::AppContext;
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::{
    domain::{
        catalogue::{self, parse_option_lines, ProductInput},
        imaging,
    },
    errors::AppResult,
    models::{
        _entities::products as product_rows,
        actor::Actor,
        catalogue::{groups, images, products},
    },
};

/// slug, name, parent slug, description.
const CATEGORIES: &[(&str, &str, &str, &str)] = &[
    (
        "clothing",
        "Clothing",
        "",
        "Everyday clothes made to last, from shirts to field jackets.",
    ),
    (
        "shirts",
        "Shirts",
        "clothing",
        "Oxford, linen, flannel and tees.",
    ),
    (
        "knitwear",
        "Knitwear",
        "clothing",
        "Jumpers, cardigans and warm accessories in natural fibres.",
    ),
    (
        "footwear",
        "Footwear",
        "",
        "Shoes and boots for town and trail.",
    ),
    (
        "outdoor",
        "Outdoor",
        "",
        "Gear for camping, hiking and long days outside.",
    ),
    (
        "tents",
        "Tents",
        "outdoor",
        "Shelters from ultralight tarps to family tents.",
    ),
    (
        "kitchen",
        "Kitchen",
        "",
        "Tools and tableware for cooking and coffee.",
    ),
    (
        "stationery",
        "Stationery",
        "",
        "Notebooks, pens and paper goods.",
    ),
];

/// slug, name, description.
const BRANDS: &[(&str, &str, &str)] = &[
    (
        "northwind",
        "Northwind",
        "Workwear-inspired clothing, cut in Portugal.",
    ),
    ("woolhouse", "Woolhouse", "Knitwear from a family mill."),
    (
        "stride",
        "Stride",
        "Goodyear-welted shoes and honest boots.",
    ),
    (
        "fjell",
        "Fjell",
        "Outdoor equipment tested in the mountains.",
    ),
    (
        "kettle-co",
        "Kettle & Co",
        "Enamel and cast iron for the kitchen.",
    ),
    (
        "papier",
        "Papier",
        "Paper goods printed with vegetable inks.",
    ),
];

/// One demo product: category, brand, name, price in cents, description, tags, options
/// ("Name: a, b; Other: c, d"), how much each step of the first option adds to the price,
/// and whether it is featured.
struct Demo {
    category: &'static str,
    brand: &'static str,
    name: &'static str,
    price: i64,
    description: &'static str,
    tags: &'static str,
    options: &'static str,
    step: i64,
    featured: bool,
}

const fn p(
    category: &'static str,
    brand: &'static str,
    name: &'static str,
    price: i64,
    description: &'static str,
    tags: &'static str,
) -> Demo {
    Demo {
        category,
        brand,
        name,
        price,
        description,
        tags,
        options: "",
        step: 0,
        featured: false,
    }
}

impl Demo {
    const fn with(mut self, options: &'static str, step: i64) -> Self {
        self.options = options;
        self.step = step;
        self
    }

    const fn featured(mut self) -> Self {
        self.featured = true;
        self
    }
}

const SIZES: &str = "Size: S, M, L, XL";
const SHOE_SIZES: &str = "Size: 40, 41, 42, 43, 44, 45";

#[allow(clippy::too_many_lines)]
fn products() -> Vec<Demo> {
    vec![
        p("shirts", "northwind", "Oxford Shirt", 4990, "A button-down in heavy Oxford cotton that softens with every wash.\n\nMother-of-pearl buttons, a box pleat and a curved hem.", "cotton, office")
            .with("Size: S, M, L, XL; Colour: White, Blue", 0).featured(),
        p("shirts", "northwind", "Linen Shirt", 5490, "Washed European linen, cool on the hottest days.", "linen, summer")
            .with("Size: S, M, L, XL; Colour: Sand, Olive", 0),
        p("shirts", "northwind", "Flannel Overshirt", 6900, "Brushed cotton flannel in a large check, with two chest pockets.", "cotton, winter").with(SIZES, 0),
        p("shirts", "northwind", "Chambray Work Shirt", 4500, "Light indigo chambray with triple-stitched seams.", "cotton, workwear"),
        p("shirts", "northwind", "Breton Stripe Top", 3900, "The classic striped sailor top in thick jersey.", "cotton").with(SIZES, 0),
        p("shirts", "northwind", "Merino Tee", 3500, "Fine merino that stays fresh on multi-day trips.", "merino, travel")
            .with("Size: S, M, L, XL; Colour: Black, Grey", 0),
        p("shirts", "northwind", "Organic Cotton Tee", 1900, "A plain tee in organic cotton, pre-shrunk.", "cotton, basics"),
        p("shirts", "northwind", "Polo Shirt", 3900, "Piqué polo with a three-button placket.", "cotton").with(SIZES, 0),
        p("knitwear", "woolhouse", "Lambswool Crew Jumper", 8900, "Soft lambswool knitted on vintage machines.", "wool, winter")
            .with("Size: S, M, L, XL; Colour: Navy, Oatmeal", 0).featured(),
        p("knitwear", "woolhouse", "Cable Knit Cardigan", 11900, "Chunky cables and horn buttons.", "wool").with(SIZES, 0),
        p("knitwear", "woolhouse", "Fisherman Rollneck", 9900, "Dense oiled wool that shrugs off spray and wind.", "wool, winter").with(SIZES, 0),
        p("knitwear", "woolhouse", "Merino Half-Zip", 7900, "A light layer for cold mornings.", "merino").with(SIZES, 0),
        p("knitwear", "woolhouse", "Alpaca Beanie", 2900, "Warm, itch-free alpaca rib.", "alpaca, accessories"),
        p("knitwear", "woolhouse", "Ribbed Scarf", 3400, "Long ribbed scarf in lambswool.", "wool, accessories"),
        p("knitwear", "woolhouse", "Fingerless Gloves", 2200, "For typing and cycling in the cold.", "wool, accessories"),
        p("clothing", "northwind", "Waxed Field Jacket", 18900, "Waxed cotton with a corduroy collar and a game pocket.", "outerwear, waterproof").with(SIZES, 0).featured(),
        p("clothing", "northwind", "Down Vest", 12900, "Responsibly sourced down, packs into its own pocket.", "outerwear, winter").with(SIZES, 0),
        p("clothing", "northwind", "Canvas Chore Coat", 9900, "Duck canvas with four patch pockets.", "outerwear, workwear").with(SIZES, 0),
        p("clothing", "northwind", "Selvedge Jeans", 11900, "Raw 14 oz selvedge denim, straight leg.", "denim")
            .with("Waist: 30, 32, 34, 36; Length: 30, 32, 34", 0),
        p("clothing", "northwind", "Corduroy Trousers", 8900, "Wide-wale cord with a relaxed taper.", "cotton").with("Waist: 30, 32, 34, 36", 0),
        p("clothing", "northwind", "Rain Poncho", 4900, "Packable poncho that covers you and your pack.", "waterproof, travel"),
        p("footwear", "stride", "Leather Derby Shoes", 14900, "Calf leather on a Goodyear-welted sole; resoleable.", "leather").with(SHOE_SIZES, 0).featured(),
        p("footwear", "stride", "Suede Chelsea Boots", 16900, "Snuff suede with a crepe sole.", "leather, boots").with(SHOE_SIZES, 0),
        p("footwear", "stride", "Canvas Sneakers", 6900, "Vulcanised rubber and heavy canvas.", "canvas")
            .with("Size: 40, 41, 42, 43, 44, 45; Colour: White, Navy", 0),
        p("footwear", "stride", "Trail Running Shoes", 12900, "Grippy lugs and a rock plate.", "running, hiking").with(SHOE_SIZES, 0),
        p("footwear", "woolhouse", "Wool Slippers", 4900, "Felted wool with a leather sole.", "wool, home").with("Size: S, M, L", 0),
        p("footwear", "stride", "Hiking Boots", 17900, "Waterproof nubuck boots with a Vibram sole.", "hiking, boots, waterproof").with(SHOE_SIZES, 0),
        p("footwear", "stride", "Leather Sandals", 7900, "Vegetable-tanned straps that mould to your feet.", "leather, summer").with(SHOE_SIZES, 0),
        p("footwear", "stride", "Boot Care Kit", 2400, "Brush, wax and cloth in a tin.", "leather, care"),
        p("tents", "fjell", "Ridge Tent 2P", 24900, "A light two-person tent for hiking; pitches in four minutes.", "hiking, camping").featured(),
        p("tents", "fjell", "Family Tent 4P", 39900, "Roomy tent with two bedrooms and a porch for camping with kids.", "camping"),
        p("tents", "fjell", "Ultralight Tarp", 8900, "Silnylon tarp, 420 g, pitch it with trekking poles.", "hiking, ultralight"),
        p("tents", "fjell", "Bivy Bag", 11900, "Waterproof breathable bivvy for fast and light trips.", "hiking, ultralight"),
        p("outdoor", "fjell", "Camp Lantern", 3900, "Bright rechargeable lantern; pairs with any tent.", "camping, light").featured(),
        p("outdoor", "fjell", "Insulated Bottle", 2900, "Keeps drinks hot for twelve hours.", "camping, travel").with("Capacity: 500 ml, 750 ml", 400),
        p("outdoor", "fjell", "Sleeping Bag -5°C", 15900, "Synthetic fill that stays warm when damp.", "camping, winter"),
        p("outdoor", "fjell", "Camp Stool", 2900, "Folding stool with a canvas seat.", "camping"),
        p("outdoor", "fjell", "Trekking Poles", 6900, "Carbon poles with cork grips, sold as a pair.", "hiking"),
        p("outdoor", "fjell", "Headlamp", 3400, "350 lumens with a red night mode.", "hiking, light"),
        p("outdoor", "kettle-co", "Enamel Camp Plate Set", 2400, "Four speckled enamel plates.", "camping, enamel"),
        p("outdoor", "fjell", "Daypack 20L", 7900, "Roll-top daypack in recycled nylon.", "hiking, travel").with("Colour: Moss, Rust, Charcoal", 0),
        p("outdoor", "fjell", "Camping Hammock", 5900, "Parachute nylon hammock with tree straps.", "camping"),
        p("kitchen", "kettle-co", "Whistling Kettle", 4500, "Stovetop kettle in enamel; works on induction.", "enamel, coffee").featured(),
        p("kitchen", "kettle-co", "Enamel Mug", 900, "Classic mug, speckled blue.", "enamel"),
        p("kitchen", "kettle-co", "Cast Iron Skillet", 3900, "Pre-seasoned cast iron that lasts generations.", "cast iron").with("Diameter: 20 cm, 26 cm", 1000),
        p("kitchen", "kettle-co", "Pour-Over Coffee Set", 3900, "Ceramic dripper, carafe and filters.", "coffee"),
        p("kitchen", "kettle-co", "Linen Tea Towels", 1900, "A pair of stonewashed linen towels.", "linen"),
        p("kitchen", "kettle-co", "Chef's Knife 20 cm", 8900, "Forged steel, full tang, hand-sharpened.", "knives"),
        p("kitchen", "kettle-co", "Oak Chopping Board", 3400, "End-grain oak, oiled.", "wood").with("Size: Small, Large", 1200),
        p("kitchen", "kettle-co", "Stoneware Bowls", 4400, "Set of four glazed stoneware bowls.", "tableware"),
        p("kitchen", "kettle-co", "French Press", 2900, "Eight cups, borosilicate glass.", "coffee"),
        p("kitchen", "kettle-co", "Spice Tin Set", 2900, "Six airtight tins with a magnetic rail.", "storage"),
        p("stationery", "papier", "Dot Grid Notebook", 1600, "Lay-flat binding and 100 gsm paper that takes fountain pen ink.", "paper, notebooks")
            .with("Size: A5, A4; Colour: Black, Sage, Terracotta", 400).featured(),
        p("stationery", "papier", "Fountain Pen", 4900, "Steel nib, piston filler, demonstrator barrel.", "pens"),
        p("stationery", "papier", "Brass Pencil", 2900, "A solid brass clutch pencil that ages well.", "pens, brass"),
        p("stationery", "papier", "2027 Weekly Planner", 2400, "A week on two pages, with month overviews.", "paper, planning"),
        p("stationery", "papier", "Letterpress Cards", 1400, "Six blank cards printed by hand.", "paper, gifts"),
        p("stationery", "papier", "Leather Desk Pad", 5900, "Vegetable-tanned leather, 60 × 35 cm.", "leather, desk"),
        p("stationery", "papier", "Washi Tape Set", 900, "Five rolls in muted colours.", "paper, gifts"),
        p("stationery", "papier", "Bottled Ink", 1400, "50 ml of smooth, fast-drying ink.", "pens, ink").with("Colour: Blue-Black, Sepia", 0),
    ]
}

/// Loads the demo catalogue when the shop has no products yet. Returns how many products
/// were created. Renditions are made by the job queue, as for any upload.
///
/// # Errors
/// Database, storage or validation errors (the data above is valid; a failure is a bug).
pub async fn ensure_demo_catalogue(ctx: &AppContext) -> AppResult<usize> {
    if product_rows::Entity::find().count(&ctx.db).await? > 0 {
        return Ok(0);
    }
    create_groups(ctx).await?;
    let all = products();
    for (i, d) in all.iter().enumerate() {
        let view = products::create(
            ctx,
            draft(i, d, d.name)?,
            &refs(d),
            &Actor::system("demo catalogue"),
        )
        .await?;

        let pictures = if d.featured || !d.options.is_empty() {
            2
        } else {
            1
        };
        for n in 0..pictures {
            let png = picture(d.name, n);

            let alt = if n == 0 {
                d.name.to_string()
            } else {
                format!("{}, detail", d.name)
            };
            images::upload(ctx, &view.id.to_string(), png, &alt).await?;
        }
    }

    Ok(all.len())
}

async fn create_groups(ctx: &AppContext) -> AppResult<()> {
    for (slug, name, parent, description) in CATEGORIES {
        let draft = catalogue::group(name, Some(slug), description)?;
        groups::create_category(ctx, draft, (!parent.is_empty()).then_some(*parent)).await?;
    }
    for (slug, name, description) in BRANDS {
        groups::create_brand(ctx, catalogue::group(name, Some(slug), description)?).await?;
    }
    Ok(())
}

/// The benchmark's catalogue (`cargo loco task seed_bench count:5000`): the demo categories
/// and brands, and `count` products cycling through the demo ones with numbered names, the
/// same share of variant products, and no pictures. Only into an empty catalogue.
///
/// # Errors
/// Database errors; a catalogue that already has products.
pub async fn load_bench_catalogue(ctx: &AppContext, count: usize) -> AppResult<usize> {
    if product_rows::Entity::find().count(&ctx.db).await? > 0 {
        return Err(crate::errors::AppError::Conflict(
            "The catalogue is not empty; seed the benchmark into a fresh database.".into(),
        ));
    }
    create_groups(ctx).await?;
    let all = products();
    for i in 0..count {
        let d = &all[i % all.len()];
        let name = format!("{} No. {}", d.name, i / all.len() + 1);
        products::create(
            ctx,
            draft(i, d, &name)?,
            &refs(d),
            &Actor::system("benchmark catalogue"),
        )
        .await?;
    }
    Ok(count)
}

fn refs(d: &Demo) -> products::GroupRefs {
    products::GroupRefs {
        category: Some(Some(d.category.to_string())),
        brand: Some(Some(d.brand.to_string())),
    }
}

/// A product's input: a spread of stock levels (some sold out, some low) that stays the
/// same on every install.
fn draft(i: usize, d: &Demo, name: &str) -> AppResult<catalogue::ProductDraft> {
    let stock_of = |k: usize| -> i64 {
        match (i * 7 + k * 5) % 13 {
            0 => 0,
            n @ 1..=3 => i64::try_from(n).unwrap_or(1),
            n => i64::try_from(n * 3).unwrap_or(10),
        }
    };
    let base = catalogue::sku_from_name(name);
    let options = parse_option_lines(&d.options.replace("; ", "\n"))
        .map_err(|m| crate::domain::validation::FieldErrors::single("options", m))?;
    let weight = Some(packed_grams(d));
    let mut variants = catalogue::variants_for(&base, &options, d.price, 0, Some(3), weight);
    for (k, v) in variants.iter_mut().enumerate() {
        // The first option's later values cost more (A4 over A5, 26 cm over 20 cm).
        let step = options
            .first()
            .and_then(|o| {
                o.values
                    .iter()
                    .position(|x| v.options.get(&o.name) == Some(x))
            })
            .unwrap_or(0);
        v.price_cents = d.price + d.step * i64::try_from(step).unwrap_or(0);
        v.stock = stock_of(k + 1);
    }
    let simple = variants.is_empty();
    let input = ProductInput {
        name: name.to_string(),
        slug: None,
        description: Some(d.description.to_string()),
        seo_title: None,
        seo_description: None,
        sku: Some(base),
        price_cents: simple.then_some(d.price),
        stock: simple.then(|| stock_of(0)),
        low_stock_threshold: simple.then_some(3),
        weight_grams: weight.filter(|_| simple),
        options,
        variants,
        tags: d.tags.split(", ").map(str::to_string).collect(),
        featured: d.featured,
        active: true,
    };
    Ok(input.parse()?)
}

/// A believable packed weight, so the demo's weight-limited express methods leave out the
/// family tent (over 5 kg for the EU) and keep the rest.
fn packed_grams(d: &Demo) -> i64 {
    match (d.name, d.category) {
        ("Family Tent 4P", _) => 11_500,
        ("Ridge Tent 2P", _) => 2_100,
        ("Cast Iron Skillet", _) => 2_600,
        ("Sleeping Bag -5°C", _) => 1_900,
        (_, "shirts") => 350,
        (_, "knitwear") => 550,
        (_, "clothing") => 1_100,
        (_, "footwear") => 1_300,
        (_, "tents") => 900,
        (_, "outdoor") => 700,
        (_, "kitchen") => 1_000,
        _ => 250,
    }
}

/// The pictures of a demo product, different per product and per picture.
#[must_use]
pub fn picture(name: &str, n: u32) -> Vec<u8> {
    let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    imaging::illustration(seed, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_data_is_valid_and_varied() {
        let all = products();
        assert_eq!(all.len(), 60);
        let mut variant_products = 0;
        let mut sold_out = 0;
        for (i, d) in all.iter().enumerate() {
            let draft = draft(i, d, d.name).unwrap_or_else(|e| panic!("{}: {e:?}", d.name));
            assert!(CATEGORIES.iter().any(|c| c.0 == d.category), "{}", d.name);
            assert!(BRANDS.iter().any(|b| b.0 == d.brand), "{}", d.name);
            if draft.variants.len() > 1 {
                variant_products += 1;
            }
            sold_out += draft.variants.iter().filter(|v| v.stock == 0).count();
        }
        assert!(variant_products >= 20, "{variant_products}");
        assert!(sold_out > 0);
        let a = picture("Enamel Mug", 0);
        assert_eq!(&a[1..4], b"PNG");
        assert_ne!(a, picture("Enamel Mug", 1));
        assert_ne!(a, picture("Camp Lantern", 0));
    }
}
