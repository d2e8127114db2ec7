"""Text in two languages, below every layer that shows it: the number formatter (Persian and English digits,
separators, percentages and points), left-to-right islands in right-to-left text, the Persian typeface, and Persian
text in matplotlib figures. The reports (PDFs) and the kit's figures both build on it."""
