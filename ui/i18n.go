package ui

import (
	"embed"

	"fyne.io/fyne/v2/lang"
)

// translations holds the UI's strings in Simplified Chinese (and English,
// the source language, for completeness). File names follow fyne's
// [prefix.]lang.json pattern.
//
//go:embed translations
var translations embed.FS

// LoadTranslations registers the embedded translations with fyne's lang
// package, which then follows the system locale (LANGUAGE, LC_ALL,
// LC_MESSAGES, LANG). Call it once before building views.
func LoadTranslations() error {
	return lang.AddTranslationsFS(translations, "translations")
}
