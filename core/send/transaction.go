package send

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
)

// LocalTransactionState is the outcome of a local transaction: commit makes the half message
// visible to consumers, rollback discards it, unknown leaves it to a later broker check-back.
type LocalTransactionState int32

const (
	Unknown LocalTransactionState = iota
	CommitMessage
	RollbackMessage
)

func (s LocalTransactionState) String() string {
	switch s {
	case CommitMessage:
		return "COMMIT_MESSAGE"
	case RollbackMessage:
		return "ROLLBACK_MESSAGE"
	}
	return "UNKNOW" // Java's spelling, which traces record
}

// wire returns the END_TRANSACTION commitOrRollback value.
func (s LocalTransactionState) wire() int32 {
	switch s {
	case CommitMessage:
		return codec.SysFlagTransactionCommit
	case RollbackMessage:
		return codec.SysFlagTransactionRollback
	}
	return codec.SysFlagTransactionNotType
}

// LocalTransaction runs the application's local transaction for a half message the broker stored.
// A returned error counts as Unknown (the broker will ask the TransactionChecker later), as a Java
// executor that throws does.
type LocalTransaction func(ctx context.Context, msg *message.Message, res *message.SendResult) (LocalTransactionState, error)

// TransactionChecker answers a broker's check-back for a half message whose outcome it did not
// learn (the producer died, or the local transaction returned Unknown).
type TransactionChecker interface {
	CheckLocalTransaction(ctx context.Context, msg *message.MessageExt) LocalTransactionState
}

// TransactionCheckerFunc adapts a function to TransactionChecker.
type TransactionCheckerFunc func(ctx context.Context, msg *message.MessageExt) LocalTransactionState

// CheckLocalTransaction calls f.
func (f TransactionCheckerFunc) CheckLocalTransaction(ctx context.Context, msg *message.MessageExt) LocalTransactionState {
	return f(ctx, msg)
}

// TransactionResult is the result of SendInTransaction: the half message's send result and the
// state sent to the broker.
type TransactionResult struct {
	*message.SendResult
	State LocalTransactionState
	// LocalErr is the error the local transaction returned, if any.
	LocalErr error
}

// SendInTransaction sends msg as a half message, runs local with it, and tells the broker to
// commit or roll back (END_TRANSACTION). The producer must have a TransactionChecker
// (WithTransactionChecker) and a group of its own: the broker asks that group when the outcome is
// unknown.
func (p *Producer) SendInTransaction(ctx context.Context, msg *message.Message, local LocalTransaction) (*TransactionResult, error) {
	if err := p.ready(ctx); err != nil {
		return nil, err
	}
	if local == nil {
		return nil, errNil("SendInTransaction's local transaction")
	}
	if msg == nil {
		return nil, errNil("message")
	}
	if p.cfg.checker == nil {
		return nil, errors.New("send: SendInTransaction needs WithTransactionChecker")
	}
	if p.cfg.group == DefaultGroup {
		return nil, fmt.Errorf("send: transactional producers need a group of their own, not %s", DefaultGroup)
	}
	msg.DelProperty(message.PropertyDelayTimeLevel) // half messages cannot be delayed
	msg.SetSystemProperty(message.PropertyTransactionPrepared, "true")
	msg.SetSystemProperty(message.PropertyProducerGroup, p.group)
	res, err := p.Send(ctx, msg)
	if err != nil {
		return nil, err
	}
	out := &TransactionResult{SendResult: res, State: RollbackMessage}
	if res.Status == message.SendOK {
		if res.TransactionID != "" {
			msg.SetSystemProperty(message.PropertyTransactionID, res.TransactionID)
		}
		out.State, out.LocalErr = runLocal(ctx, local, msg, res)
	}
	if err := p.endTransaction(ctx, msg, res, out.State, out.LocalErr); err != nil {
		return out, fmt.Errorf("send: half message %s stored, but END_TRANSACTION (%s) failed; the broker will check back: %w",
			res.MsgID, out.State, err)
	}
	return out, nil
}

// runLocal runs the local transaction, turning a panic into Unknown so the broker checks back.
func runLocal(ctx context.Context, local LocalTransaction, msg *message.Message, res *message.SendResult) (state LocalTransactionState, err error) {
	defer func() {
		if r := recover(); r != nil {
			state, err = Unknown, fmt.Errorf("local transaction panicked: %v", r)
		}
	}()
	state, err = local(ctx, msg, res)
	if err != nil {
		state = Unknown
	}
	return state, err
}

func (p *Producer) endTransaction(ctx context.Context, msg *message.Message, res *message.SendResult, state LocalTransactionState, localErr error) error {
	id := res.OffsetMsgID
	if id == "" {
		id = res.MsgID
	}
	_, offset, err := codec.DecodeOffsetMsgID(id)
	if err != nil {
		return err
	}
	addr := p.brokerAddr(res.Queue.BrokerName)
	if addr == "" {
		return fmt.Errorf("%w: %s", errNoBrokerAddr, res.Queue.BrokerName)
	}
	h := &codec.EndTransactionRequestHeader{Topic: p.withNamespace(msg.Topic), ProducerGroup: p.group,
		TranStateTableOffset: res.QueueOffset, CommitLogOffset: offset, CommitOrRollback: state.wire(),
		MsgID: res.MsgID, TransactionID: res.TransactionID, BrokerName: res.Queue.BrokerName}
	req := codec.NewRequest(codec.EndTransaction, h, nil)
	if localErr != nil {
		req.Remark = localErr.Error()
	}
	err = p.rc.InvokeOneway(ctx, addr, req, time.Time{})
	p.runEndTransactionHooks(&EndTransactionContext{Group: p.cfg.group, Message: msg, BrokerAddr: addr,
		MsgID: res.MsgID, TransactionID: hookTransactionID(msg, res.TransactionID), State: state})
	return err
}

func (p *Producer) runEndTransactionHooks(ec *EndTransactionContext) {
	for _, h := range p.hooks.Load().endTx {
		h.EndTransaction(ec)
	}
}

// serveCheckTransaction answers a broker's CHECK_TRANSACTION_STATE. The request is oneway: the
// answer is a new END_TRANSACTION to the broker that asked, echoing the offsets of the check
// (the broker re-appends the half message before each check).
func (p *Producer) serveCheckTransaction(ctx context.Context, addr string, req *codec.Command) *codec.Command {
	log := p.cfg.logger
	h, err := codec.DecodeCheckTransactionStateRequestHeader(req)
	if err != nil {
		log.Warn("bad transaction check-back", "broker", addr, "err", err)
		return nil
	}
	m, _, err := codec.DecodeMessageExt(req.Body, true)
	if err != nil {
		log.Warn("bad transaction check-back message", "broker", addr, "err", err)
		return nil
	}
	if g := m.Property(message.PropertyProducerGroup); g != p.group {
		log.Debug("check-back for another group", "group", g)
		return nil
	}
	if p.cfg.checker == nil {
		log.Warn("transaction check-back but no TransactionChecker configured", "msgId", m.MsgID)
		return nil
	}
	m.Topic = p.withoutNamespace(m.Topic) // the checker and the hooks see the topic as the user named it
	cctx, cancel := context.WithTimeout(ctx, p.cfg.sendTimeout)
	defer cancel()
	state := checkLocal(cctx, p.cfg.checker, m, log.Warn)
	msgID := m.Property(message.PropertyUniqClientMessageIDKeyIdx)
	if msgID == "" {
		msgID = h.MsgID
	}
	end := &codec.EndTransactionRequestHeader{Topic: h.Topic, ProducerGroup: p.group,
		TranStateTableOffset: h.TranStateTableOffset, CommitLogOffset: h.CommitLogOffset,
		CommitOrRollback: state.wire(), FromTransactionCheck: true, MsgID: msgID,
		TransactionID: h.TransactionID, BrokerName: h.BrokerName}
	octx, ocancel := context.WithTimeout(context.Background(), time.Second)
	defer ocancel()
	if err := p.rc.InvokeOneway(octx, addr, codec.NewRequest(codec.EndTransaction, end, nil), time.Time{}); err != nil {
		log.Warn("answering transaction check-back failed", "broker", addr, "msgId", msgID, "err", err)
	}
	p.runEndTransactionHooks(&EndTransactionContext{Group: p.cfg.group, Message: &m.Message, BrokerAddr: addr,
		MsgID: msgID, TransactionID: hookTransactionID(&m.Message, h.TransactionID), State: state, FromCheck: true})
	return nil
}

// hookTransactionID is the transaction id EndTransaction hooks (and traces) see: the message's
// UNIQ_KEY, which Java's producer makes the message's transaction id after the half message is
// stored and again when it is checked back, else the broker's.
func hookTransactionID(m *message.Message, broker string) string {
	if id := m.UniqID(); id != "" {
		return id
	}
	return broker
}

// checkLocal runs the checker; a panic answers Unknown, so the broker asks again later.
func checkLocal(ctx context.Context, tc TransactionChecker, m *message.MessageExt, warn func(string, ...any)) (state LocalTransactionState) {
	defer func() {
		if r := recover(); r != nil {
			warn("transaction checker panicked", "msgId", m.MsgID, "panic", fmt.Sprint(r))
			state = Unknown
		}
	}()
	return tc.CheckLocalTransaction(ctx, m)
}
