#include "loadgen/js/context.h"

#include <chrono>

#include "loadgen/js/resolution.h"

namespace faultline::loadgen::js {

std::optional<std::string> FileStore::read(const std::string& path, std::string& error) {
  std::lock_guard lock(mutex_);
  auto it = files_.find(path);
  if (it != files_.end()) return *it->second;
  if (frozen_) {
    error =
        "open() can't be used with files that weren't previously opened during "
        "initialization (__VU==0), path: \"" +
        path + "\"";
    return std::nullopt;
  }
  std::string read_error;
  auto content = read_whole_file(path, read_error);
  if (!content) {
    error = read_error.find("is a directory") != std::string::npos
                ? "open() can't be used with directories, path: \"" + path + "\""
                : read_error;
    return std::nullopt;
  }
  files_.emplace(path, std::make_shared<const std::string>(*content));
  return content;
}

void FileStore::freeze() {
  std::lock_guard lock(mutex_);
  frozen_ = true;
}

uint32_t CheckTable::id(const std::string& group, const std::string& name) {
  std::lock_guard lock(mutex_);
  auto [it, added] =
      ids_.emplace(std::make_pair(group, name), static_cast<uint32_t>(entries_.size()));
  if (added) entries_.push_back({group, name});
  return it->second;
}

std::vector<CheckTable::Entry> CheckTable::entries() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

void CheckTable::note_group(const std::string& path) {
  std::lock_guard lock(mutex_);
  if (group_set_.insert(path).second) groups_.push_back(path);
}

std::vector<std::string> CheckTable::groups() const {
  std::lock_guard lock(mutex_);
  return groups_;
}

SharedData::Claim SharedData::claim(const std::string& name,
                                    const std::function<bool()>& interrupted, Items& items) {
  std::unique_lock lock(mutex_);
  for (;;) {
    auto found = arrays_.find(name);
    if (found != arrays_.end()) {
      items = found->second;
      return Claim::kReady;
    }
    auto builder = building_.find(name);
    if (builder == building_.end()) {
      building_.emplace(name, std::this_thread::get_id());
      return Claim::kBuild;
    }
    if (builder->second == std::this_thread::get_id()) return Claim::kRecursive;
    // Woken by publish() or abandon(); the timeout only lets an interrupt through.
    built_.wait_for(lock, std::chrono::milliseconds(50));
    if (interrupted && interrupted()) return Claim::kInterrupted;
  }
}

SharedData::Items SharedData::publish(const std::string& name, std::vector<std::string> items) {
  auto data = std::make_shared<const std::vector<std::string>>(std::move(items));
  {
    std::lock_guard lock(mutex_);
    building_.erase(name);
    arrays_.emplace(name, data);
  }
  built_.notify_all();
  return data;
}

void SharedData::abandon(const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    building_.erase(name);
  }
  built_.notify_all();
}

}  // namespace faultline::loadgen::js
