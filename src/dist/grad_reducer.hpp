// Data-parallel gradient averaging, the way PyTorch's DDP does it: parameters
// are packed, in reverse order of their creation (roughly the order backward
// produces their gradients), into buckets of about `bucket_mb`; each bucket is
// one all-reduce. Two schedules:
//  - after backward (default): every bucket is packed and launched once the
//    backward pass is over;
//  - overlapped: a hook on each parameter packs its gradient as backward
//    produces it and launches a bucket's all-reduce the moment it is full,
//    so communication runs while backward computes the rest.
// Either way finish() leaves in every parameter's .grad the mean over ranks of
// the gradient accumulated over the step's micro-batches. In a world of one it
// does nothing.
#pragma once
#include <torch/torch.h>

#include <mutex>
#include <vector>

#include "dist/process_group.hpp"

namespace prealign {

class GradReducer {
 public:
  GradReducer(const ProcessGroup& group, std::vector<torch::Tensor> params, double bucket_mb, bool overlap);
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // Before each micro-batch's backward: the last one of a step is reduced.
  void before_backward(bool last_micro_batch);
  // After the last backward of the step: completes and waits for every bucket.
  void finish();
  size_t buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<size_t> params;   // indices into params_
    std::vector<int64_t> offset;  // element offset of each in `flat`
    torch::Tensor flat;
    size_t ready = 0;
    bool launched = false;
    PendingReduce pending;
  };
  void on_gradient(size_t param, const torch::Tensor& incoming);
  void launch(Bucket& b);

  const ProcessGroup& group_;
  std::vector<torch::Tensor> params_;
  std::vector<std::pair<size_t, size_t>> slot_;  // param -> (bucket, index within bucket)
  std::vector<Bucket> buckets_;
  bool overlap_, armed_ = false;
  std::mutex mutex_;  // hooks may run on autograd's device threads
};

}  // namespace prealign
