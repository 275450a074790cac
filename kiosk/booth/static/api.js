"use strict";
// The kiosk's JSON API as the booth uses it. Errors are {"error": {"code", "message", ...}}; they
// become ApiFailure with the stable code, which the screen translates. No network at all is
// code "network" (the kiosk service is down or unreachable).

class ApiFailure extends Error {
  constructor(status, code, message, details) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

const Api = {
  token: null,

  headers(token, json) {
    const headers = {Accept: "application/json"};
    if (json) headers["Content-Type"] = "application/json";
    const bearer = token === undefined ? this.token : token;
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    return headers;
  },

  async request(method, path, {body, token} = {}) {
    let response;
    try {
      response = await fetch(path, {
        method, headers: this.headers(token, body !== undefined), cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiFailure(0, "network", "the kiosk service is not reachable");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!response.ok) {
      const failure = (data && data.error) || {};
      throw new ApiFailure(response.status, failure.code || "generic", failure.message, failure);
    }
    return data;
  },

  get(path, options) { return this.request("GET", path, options); },
  post(path, body, options) { return this.request("POST", path, {...options, body}); },

  // A file behind a bearer token: fetch it and hand it to the browser as a download.
  async download(path, filename, token) {
    let response;
    try {
      response = await fetch(path, {headers: this.headers(token, false), cache: "no-store"});
    } catch (error) {
      throw new ApiFailure(0, "network", "the kiosk service is not reachable");
    }
    if (!response.ok) {
      let failure = {};
      try { failure = (await response.json()).error || {}; } catch (error) { failure = {}; }
      throw new ApiFailure(response.status, failure.code || "generic", failure.message, failure);
    }
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  },
};
