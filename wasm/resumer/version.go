package resumer

// Version is resumer's version: the same in package.json and in what the
// JS API reports (VERSION), and the top entry of CHANGELOG.md
// (TestVersionAgrees checks all four).
const Version = "0.5.0"
