package resumer

// Version is resumer's version: the same in the npm package
// (web/package.json), in what the JS API reports (VERSION), and at the top
// of CHANGELOG.md (TestVersionAgrees checks all four).
const Version = "0.5.0"
