"""The index schema, and how products and shopper text become tantivy documents and terms.

=============  ===========================  ==============================================
field          kind                         used for
=============  ===========================  ==============================================
id             integer, indexed, fast       the product id (results, deletes by term)
title, body    text, ``en_stem``            full text; BM25, the title boosted
sku            text, ``raw`` (lower case)   exact SKU hits
brand          text, ``raw``, fast          brand filter and counts
category       text, ``raw``, fast          category slugs *with their ancestors*: filter
                                            and counts (a parent finds its children)
category_name  text, ``raw``, fast          "slug␟name", to label category counts
attribute      text, ``raw``, fast          "name␟value" per attribute: filter and counts
in_stock       boolean, indexed, fast       filter and counts
price          integer, indexed, fast       range filter, sort
newest         integer, fast                sort "newest": creation second and id
=============  ===========================  ==============================================

Facet counts come from ``searcher.aggregate`` (terms aggregations) on the fast raw
fields: tantivy-py has no facet collector and a facet field can be neither stored nor
aggregated (stack notes §8b), so categories live in a raw field instead.
"""
from __future__ import annotations

import re

import tantivy

from storefront.plugins import ProductDocument

#: Bumped whenever the schema changes; each version has its own directory, so a new
#: version starts empty and ``flask search reindex --backend tantivy`` fills it.
SCHEMA_VERSION = 1
#: Joins a name and a value in one raw term ("size␟M"); never typed by anyone.
SEPARATOR = "\x1f"
WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12
STOPWORDS = frozenset(
    "a about an and are as at be by com de en for from how i in is it la of on or that the this to "
    "was what when where who will with und www".split())


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    builder.add_text_field("title", tokenizer_name="en_stem")
    builder.add_text_field("body", tokenizer_name="en_stem")
    builder.add_text_field("sku", tokenizer_name="raw")
    builder.add_text_field("brand", fast=True, tokenizer_name="raw")
    builder.add_text_field("category", fast=True, tokenizer_name="raw")
    builder.add_text_field("category_name", fast=True, tokenizer_name="raw")
    builder.add_text_field("attribute", fast=True, tokenizer_name="raw")
    builder.add_boolean_field("in_stock", indexed=True, fast=True)
    builder.add_integer_field("price", indexed=True, fast=True)
    builder.add_integer_field("newest", fast=True)
    return builder.build()


def to_document(product: ProductDocument) -> tantivy.Document:
    document = tantivy.Document()
    document.add_integer("id", product.id)
    document.add_text("title", product.title)
    document.add_text("body", body_text(product))
    for sku in product.skus:
        document.add_text("sku", sku.lower())
    if product.brand:
        document.add_text("brand", product.brand)
    for category in product.categories_with_ancestors:
        document.add_text("category", category.slug)
        document.add_text("category_name", f"{category.slug}{SEPARATOR}{category.name}")
    for name, values in product.attributes.items():
        for value in values:
            document.add_text("attribute", f"{name}{SEPARATOR}{value}")
    document.add_boolean("in_stock", product.in_stock)
    document.add_integer("price", product.price_min_minor)
    document.add_integer("newest", newest_key(product))
    return document


def newest_key(product: ProductDocument) -> int:
    """Sorts by creation time, then id (products made in the same second keep their
    order): the second in the high bits, the id's low 28 bits below — fits an i64 until
    the year 3000 and ids up to 268 million."""
    return (max(int(product.created_at), 0) << 28) | (product.id & (2**28 - 1))


def body_text(product: ProductDocument) -> str:
    """Everything findable besides the title: description, brand, categories, SKUs, attributes."""
    parts = [product.description_text, product.brand, *(c.name for c in product.categories), *product.skus,
             *(value for values in product.attributes.values() for value in values)]
    return " ".join(part for part in parts if part)


def query_words(shopper_text: str) -> list[str]:
    """The shopper's words, lower case, each once, stopwords dropped unless nothing else
    is left ("the lamp" means the lamp)."""
    seen: dict[str, None] = {}
    for word in WORD.findall((shopper_text or "").lower()):
        seen.setdefault(word, None)
    words = list(seen)[:MAX_TERMS]
    return [w for w in words if w not in STOPWORDS] or words


def stemmer() -> tantivy.TextAnalyzer:
    """The ``en_stem`` analyzer's steps, so query terms meet indexed terms: term-level
    queries are not analysed (stack notes §8e)."""
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.stemmer("english"))
            .build())
