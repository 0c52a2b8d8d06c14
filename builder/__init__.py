"""Design time: drafts, publishing with migration preview, versions, the designers."""
