package shipment

import "time"

// Status is a shipment record's state.
type Status string

// Shipment statuses.
const (
	Dispatched Status = "DISPATCHED"
	Cancelled  Status = "CANCELLED"
)

// Shipment is shipping's record of one order.
type Shipment struct {
	OrderID        string    `json:"orderId"`
	Status         Status    `json:"status"`
	ShipmentID     string    `json:"shipmentId,omitempty"`
	Carrier        string    `json:"carrier,omitempty"`
	TrackingNumber string    `json:"trackingNumber,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	At             time.Time `json:"at"`
}

// Label is the shipping label document handed to the carrier.
type Label struct {
	ShipmentID     string    `json:"shipmentId"`
	OrderID        string    `json:"orderId"`
	CustomerID     string    `json:"customerId"`
	Carrier        string    `json:"carrier"`
	TrackingNumber string    `json:"trackingNumber"`
	CreatedAt      time.Time `json:"createdAt"`
}
