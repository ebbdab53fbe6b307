"""The built-in data sets, declared once: `person` (the Spark in Action seed) and `retail`
(the by-day retail data of "Spark: The Definitive Guide", chapter 3)."""

from __future__ import annotations

from collections.abc import Mapping

from generator.errors import UsageError
from generator.spec import (
    Catalog,
    Choice,
    Column,
    Dataset,
    Effect,
    Entity,
    FakerPool,
    Flag,
    Histogram,
    LogNormal,
    Naming,
    Normal,
    Pattern,
    Sequence,
    SimClock,
    Template,
    TimeOfDay,
)

# Ages in five-year bands, 0-4 .. 100-104: shares of the US population (Census 2020, rounded).
_AGE_EDGES = tuple(float(a) for a in range(0, 110, 5))
_AGE_WEIGHTS = (
    6.0, 6.2, 6.5, 6.6, 6.6, 6.9, 6.8, 6.6, 6.3, 6.3, 6.4,
    6.6, 6.2, 5.3, 4.3, 2.9, 1.9, 1.1, 0.5, 0.15, 0.03,
)  # fmt: skip

PERSON = Dataset(
    name="person",
    description="fname,mname,lname,age,ssn: the records of Spark in Action's chapter 10",
    columns=(
        Column("fname", "STRING", FakerPool("first_name", size=1000)),
        # Faker has no middle-name provider; a second first name is what middle names are.
        Column("mname", "STRING", FakerPool("first_name", size=1000)),
        Column("lname", "STRING", FakerPool("last_name", size=1000)),
        Column("age", "INT", Histogram(_AGE_EDGES, _AGE_WEIGHTS)),
        Column("ssn", "STRING", Pattern(("###-##-####",))),
    ),
    header=False,
    rows_per_file=10,
)

# Retail figures below are measured on the whole by-day set (UCI "Online Retail", 541,909 rows)
# or on the six real days in shared/data; see its README.

# Quantities as they occur (1, 2, 12, 6, 3 ... per 17k rows of the sample); median 3.
_QUANTITIES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 18, 20, 24, 25, 30, 32, 36, 40, 48,
               50, 60, 72, 96, 100, 120, 144, 200, 480)  # fmt: skip
_QUANTITY_WEIGHTS = (5000, 2700, 1400, 1150, 450, 1300, 110, 400, 100, 350, 35, 1500, 80,
                     50, 90, 560, 60, 35, 30, 120, 30, 150, 20, 15, 45, 45, 20, 10, 15, 8,
                     3)  # fmt: skip

# Rows by country over the whole set (per cent): United Kingdom 91 %, then Germany, France, EIRE.
_COUNTRIES = (
    ("United Kingdom", 91.4),
    ("Germany", 1.75),
    ("France", 1.58),
    ("EIRE", 1.51),
    ("Spain", 0.47),
    ("Netherlands", 0.44),
    ("Belgium", 0.38),
    ("Switzerland", 0.37),
    ("Portugal", 0.28),
    ("Australia", 0.23),
    ("Norway", 0.2),
    ("Italy", 0.15),
    ("Channel Islands", 0.14),
    ("Finland", 0.13),
    ("Cyprus", 0.11),
    ("Sweden", 0.085),
    ("Unspecified", 0.08),
    ("Austria", 0.074),
    ("Denmark", 0.072),
    ("Japan", 0.066),
    ("Poland", 0.063),
    ("Israel", 0.055),
    ("USA", 0.055),
    ("Hong Kong", 0.053),
    ("Singapore", 0.042),
    ("Iceland", 0.034),
    ("Canada", 0.028),
    ("Greece", 0.027),
    ("Malta", 0.023),
    ("United Arab Emirates", 0.013),
    ("European Community", 0.011),
    ("RSA", 0.011),
    ("Lebanon", 0.008),
    ("Lithuania", 0.007),
    ("Brazil", 0.006),
    ("Czech Republic", 0.006),
    ("Bahrain", 0.004),
    ("Saudi Arabia", 0.002),
)

# Invoice hours 06..20, most between 10 and 16 (rows per hour in the six sample days).
_HOUR_WEIGHTS = (0, 0, 0, 0, 0, 0, 2, 10, 131, 1011, 1487, 2461, 2280, 1733, 2090, 2707, 1376,
                 935, 659, 105, 20, 0, 0, 0)  # fmt: skip

# Product names in the style of the real catalogue ("WHITE HANGING HEART T-LIGHT HOLDER").
_SIZES = ("", "", "", "", "SMALL ", "LARGE ", "JUMBO ", "MINI ", "SET OF 3 ", "SET/6 ")
_COLOURS = ("WHITE", "RED", "PINK", "BLUE", "GREEN", "IVORY", "CREAM", "BLACK", "SILVER",
            "GOLD", "PURPLE", "ORANGE", "PASTEL", "ANTIQUE", "ZINC", "GLASS", "WOODEN")  # fmt: skip
_MOTIFS = ("HANGING HEART", "RETROSPOT", "VINTAGE", "REGENCY", "SPACEBOY", "DOLLY GIRL",
           "WOODLAND", "PAISLEY", "POLKADOT", "FLORAL", "BIRD", "ROSE", "LOVE", "CHRISTMAS",
           "UNION FLAG", "STAR", "SKULL", "ENGLISH ROSE", "FAIRY CAKE", "BAROQUE")  # fmt: skip
_ITEMS = ("T-LIGHT HOLDER", "LANTERN", "COAT HANGER", "HOT WATER BOTTLE", "MUG", "CAKE CASES",
          "JUMBO BAG", "LUNCH BAG", "CANDLE", "CUSHION COVER", "TEA SET", "TEACUP AND SAUCER",
          "DOORMAT", "NOTEBOOK", "WALL CLOCK", "PHOTO FRAME", "GIFT WRAP", "PAPER NAPKINS",
          "BUNTING", "CHALKBOARD", "STORAGE TIN", "KEY FOB", "METAL SIGN", "PURSE",
          "BAKING SET", "PICNIC BASKET", "CAKESTAND", "DRAWER KNOB", "NIGHT LIGHT", "GARLAND",
          "WREATH", "SHOPPER BAG", "PLATE", "BOWL", "TRAY", "TRINKET BOX")  # fmt: skip
# A quote inside a field is written doubled (`"7"" SINGLE"`), as in the real files. Spark's CSV
# reader (escape `\` by default) misreads a doubled quote followed by a comma in the same field,
# and so would the seed code: quotes appear only in names without a comma, as in the real set.
_ITEMS_WITH_QUOTE = (*_ITEMS, 'RECORD FRAME 7" SINGLE SIZE')

_PRODUCT_NAME = Template(
    # About 1 % of real descriptions hold a comma ("KEY FOB , SHED", "CAKESTAND, 3 TIER"):
    # that is the second template, chosen for 1 % of products.
    text="{size}{colour} {motif} {item}",
    parts={
        "size": Choice(_SIZES),
        "colour": Choice(_COLOURS),
        "motif": Choice(_MOTIFS),
        "item": Choice(_ITEMS_WITH_QUOTE),
    },
)
_PRODUCT_NAME_WITH_COMMA = Template(
    text="{item}, {colour} {motif}",
    parts={"item": Choice(_ITEMS), "colour": Choice(_COLOURS), "motif": Choice(_MOTIFS)},
)

RETAIL = Dataset(
    name="retail",
    description="the by-day retail data streamed in Spark: The Definitive Guide, chapter 3",
    columns=(
        Column(
            "InvoiceNo",
            "STRING",
            Sequence(start=536365),
            per="group",
            effects=(Effect("cancelled", prefix="C"),),
        ),
        Column("StockCode", "STRING", Entity("product", "code")),
        Column("Description", "STRING", Entity("product", "description")),
        Column(
            "Quantity",
            "INT",
            Choice(_QUANTITIES, _QUANTITY_WEIGHTS),
            effects=(Effect("cancelled", negate=True),),
        ),
        Column("InvoiceDate", "TIMESTAMP", TimeOfDay(_HOUR_WEIGHTS), per="group"),
        Column("UnitPrice", "DOUBLE", Entity("product", "price")),
        # A quarter of the rows have no customer: checkouts without an account.
        Column("CustomerID", "DOUBLE", Entity("customer", "id"), per="group", nulls=0.249),
        Column("Country", "STRING", Entity("customer", "country"), per="group"),
    ),
    header=True,
    # Rows per day over the whole set: min 279, median 1,577, max 5,331.
    rows_per_file=LogNormal(median=1577, sigma=0.55, low=279, high=5331),
    # About 21 rows per invoice; cancellations are small invoices of their own.
    group_size=LogNormal(median=11, sigma=1.2, low=1, high=600),
    flags=(Flag("cancelled", fraction=0.15, group_size=LogNormal(1.5, 0.6, 1, 6)),),
    catalogs=(
        Catalog(
            "product",
            size=4070,
            skew=0.7,
            fields={
                "code": Pattern(("#####", "#####@"), weights=(0.86, 0.14)),
                "description": Choice((_PRODUCT_NAME, _PRODUCT_NAME_WITH_COMMA), (0.99, 0.01)),
                "price": LogNormal(median=2.08, sigma=0.9, low=0.1, high=650.0, decimals=2),
            },
        ),
        Catalog(
            "customer",
            size=4372,
            skew=0.5,
            fields={
                "id": Sequence(start=12346),
                "country": Choice(tuple(c for c, _ in _COUNTRIES), tuple(w for _, w in _COUNTRIES)),
            },
        ),
    ),
    naming=Naming(kind="daily", skip_weekdays=(5,)),
)

# Numbered rows: a reader can see at once whether any went missing, came twice or out of order.
COUNTER = Dataset(
    name="counter",
    description="n,word: n counts 1, 2, 3 ... across files and socket batches",
    columns=(
        Column("n", "BIGINT", Sequence(start=1)),
        Column("word", "STRING", FakerPool("word", size=1000)),
    ),
    header=False,
    rows_per_file=10,
)

# Readings of 50 devices for event-time work: event_time follows the run's simulated clock
# (--start, --speed), with disorder and late readings on request, and a ground truth beside it.
SENSOR = Dataset(
    name="sensor",
    description="device_id,event_time,temperature,humidity,status: readings for watermark demos",
    columns=(
        Column("device_id", "STRING", Choice(tuple(f"sensor-{i:03d}" for i in range(1, 51)))),
        Column("event_time", "TIMESTAMP", SimClock()),
        Column("temperature", "DOUBLE", Normal(21.5, 3.0, -10.0, 45.0, decimals=1)),
        Column("humidity", "DOUBLE", Normal(45.0, 12.0, 0.0, 100.0, decimals=1)),
        Column("status", "STRING", Choice(("ok", "warn", "error"), (0.95, 0.04, 0.01))),
    ),
    header=False,
    rows_per_file=20,
)

DATASETS: Mapping[str, Dataset] = {ds.name: ds for ds in (PERSON, RETAIL, COUNTER, SENSOR)}


def get_dataset(name: str) -> Dataset:
    """The built-in data set called `name`; a UsageError listing the valid names otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        raise UsageError(f"unknown data set {name!r} (one of: {', '.join(DATASETS)})") from None
