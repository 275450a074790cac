"use strict";
// Message catalogues: the screen's words come from /booth/messages/<lang>.json, never from code.
// English is the fallback for a key a catalogue lacks (a test keeps the catalogues complete).

const I18n = {
  language: "en",
  fallback: "en",
  catalogues: {},
  urlTemplate: "",

  async load(language) {
    if (!this.catalogues[language]) {
      const response = await fetch(this.urlTemplate.replace("LANG", encodeURIComponent(language)));
      if (!response.ok) throw new Error(`no message catalogue for ${language}`);
      this.catalogues[language] = await response.json();
    }
    return this.catalogues[language];
  },

  async use(language) {
    await this.load(this.fallback);
    await this.load(language);
    this.language = language;
    document.documentElement.lang = language;
    this.apply(document);
  },

  // t("result.go_to", {station: "PS-0002"}) -> the text with {station} filled in
  t(key, params) {
    const text = (this.catalogues[this.language] || {})[key] ?? (this.catalogues[this.fallback] || {})[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (params && name in params ? String(params[name]) : whole));
  },

  has(key) {
    return key in (this.catalogues[this.fallback] || {});
  },

  // Static labels carry data-i18n="key"; dynamic ones are re-rendered by the screen.
  apply(root) {
    for (const element of root.querySelectorAll("[data-i18n]")) {
      element.textContent = this.t(element.dataset.i18n);
    }
  },
};
