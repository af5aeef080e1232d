package rmqtest

import (
	"context"
	"fmt"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/remote"
)

// routedBrokers returns the brokers the NameServer routes topic to, asked with rocketsend's own
// transport and codec: the GET_ROUTEINFO_BY_TOPIC request `mqadmin topicRoute` sends, without the
// seconds a JVM takes to start. The NameServer needs no authentication, even for Auth().
func routedBrokers(ns, topic string) ([]string, error) {
	c := remote.NewClient()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Invoke(ctx, ns, codec.NewRequest(codec.GetRouteInfoByTopic,
		&codec.GetRouteInfoRequestHeader{Topic: topic, AcceptStandardJSONOnly: true}, nil), time.Time{})
	if err != nil {
		return nil, err
	}
	if resp.Code != codec.Success {
		return nil, fmt.Errorf("GET_ROUTEINFO_BY_TOPIC %s: code %d: %s", topic, resp.Code, resp.Remark)
	}
	rd, err := codec.DecodeTopicRouteData(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("route of %s: %w", topic, err)
	}
	names := make([]string, 0, len(rd.QueueDatas))
	for _, q := range rd.QueueDatas {
		names = append(names, q.BrokerName)
	}
	return names, nil
}
