package main

import (
	"encoding/json"
	"net/http"
)

// Station is what GET /v1/ returns.
type Station struct {
	Name         string `json:"name"`
	Model        string `json:"model"`
	Manufacturer string `json:"manufacturer"`
	Class        string `json:"class"`
	Crew         int    `json:"crew"`
	Hyperdrive   string `json:"hyperdrive_rating"`
	Status       string `json:"status"`
}

var deathStar = Station{
	Name:         "Death Star",
	Model:        "DS-1 Orbital Battle Station",
	Manufacturer: "Imperial Department of Military Research, Sienar Fleet Systems",
	Class:        "Deep Space Mobile Battlestation",
	Crew:         342953,
	Hyperdrive:   "4.0",
	Status:       "fully operational",
}

// apiHandler serves the Death Star's HTTP API: GET /v1/ returns the station
// as JSON; every other path is 404.
func apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(deathStar)
	})
	return mux
}
